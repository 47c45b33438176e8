"""Reading a request's JSON body for the operator APIs: a size limit, then a clear 400."""

from typing import Any

import msgspec
from aiohttp import web

from hub.web.errors import ApiError


async def read_json_object(request: web.Request, what: str, limit: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past `limit` bytes (counted as they arrive, so a body without
    Content-Length cannot get round it), 400 for anything but a JSON object."""
    raw = await read_limited(request, limit)
    if not raw.strip():
        raise ApiError(400, "bad_request", f"the body is empty: expected {what} as JSON")
    try:
        body = msgspec.json.decode(raw)
    except RecursionError:  # the decoder recurses once a level: no body of ours nests this deep
        raise ApiError(400, "too_deep", f"the body nests too deep: expected {what}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not valid JSON ({exc}): expected {what}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", f"the body must be a JSON object ({what}), got {json_kind(body)}")
    return body


async def read_limited(request: web.Request, limit: int, too_large: str = "") -> bytes:
    """The body's bytes; 413 (saying `too_large`, or the limit) once more than `limit` have arrived."""
    message = too_large or f"the body may be at most {limit} bytes"
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", message)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "payload_too_large", message)
    return bytes(raw)


def json_kind(value: object) -> str:
    """A JSON value's kind, for error messages."""
    if isinstance(value, bool):
        return "true/false"
    kinds = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
