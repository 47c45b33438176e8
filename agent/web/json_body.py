"""Reading a JSON body, for the diner and staff handlers alike; a body that is not one is refused
with errors.refusal(...), which the error middleware answers as our JSON error.

Every body is checked for depth before it is decoded: a decoder recursing once per level fails
with RecursionError (a 500) on a 64 KB body of brackets, and no request of ours nests deeper than
a few levels.
"""

import json
import re

from aiohttp import web

from agent.web.errors import refusal

MAX_DEPTH = 16
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST = re.compile(rb"[\[{][\]}]")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than `limit` deep (brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the usual case, counted in C
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    for _ in range(limit):  # each round peels the innermost level, in C
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


def require_json(request: web.Request) -> None:
    """A body must say it is JSON: a cross-site page can send text/plain without asking first."""
    if request.content_type != "application/json":
        raise refusal(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")


def check_depth(body: bytes) -> bytes:
    if too_deep(body):
        raise refusal(400, "too_deep", f"the body nests more than {MAX_DEPTH} levels deep")
    return body


async def json_bytes(request: web.Request) -> bytes:
    """The body of a JSON request, said to be JSON and not too deep, still to be decoded."""
    require_json(request)
    return check_depth(await request.read())


async def json_object(request: web.Request) -> dict:
    body = await json_bytes(request)
    try:
        value = json.loads(body)
    except ValueError:
        raise refusal(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise refusal(400, "bad_request", "the body must be a JSON object")
    return value
