"""How the agent and the hub describe their HTTP APIs as OpenAPI 3.1, from their own code.

A handler says what it answers when it succeeds with `@answers(status, body)`, body a msgspec
struct (msgspec.json.schema describes it), a media type for what is not JSON, or None for no body.
Each side's openapi.py walks its router, so a route cannot be missing from its description, and
takes the success answers from the handlers. Bodies are `Answer` structs: exact, so a field the
description does not name is a mismatch, not an extra.

With TABLESIDE_CHECK_ANSWERS=1 (the test suite sets it), `check_answers` decodes every JSON
success against the struct its handler declared and turns a mismatch into a 500 that says which:
every test that reaches a handler also checks its description.
"""

import gzip
import os
import re
from dataclasses import dataclass, field

import msgspec
from aiohttp import web

_SHAPED = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_ANY = "[^{}/]+"  # aiohttp's default for a parameter
PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


class Answer(msgspec.Struct, forbid_unknown_fields=True):
    """A success body: every field named, nothing else."""


Body = type | str | None  # a struct, a media type, or nothing (204, 304)


@dataclass(frozen=True)
class Success:
    bodies: tuple[type | str, ...]  # one status may answer JSON or, asked for, CSV
    why: str = "done"
    headers: dict = field(default_factory=dict)

    @property
    def struct(self) -> type | None:
        return next((b for b in self.bodies if isinstance(b, type)), None)


def answers(status: int, body: Body | tuple[str, ...] = None, why: str = "done", headers: dict | None = None):
    """Declare one success answer of a handler; stack one per status, or per body of a status."""
    bodies = body if isinstance(body, tuple) else () if body is None else (body,)

    def mark(handler):
        found = handler.__dict__.setdefault("answers", {})
        before = found.get(status)
        found[status] = Success((*before.bodies, *bodies), why if why != "done" else before.why,
                                {**before.headers, **(headers or {})}) if before else Success(bodies, why, headers or {})
        return handler
    return mark


def declared(handler) -> dict[int, Success]:
    return getattr(handler, "answers", {})


def route_path(route: web.AbstractRoute) -> str | None:
    """The route's path in OpenAPI's form: {name}, whatever regex aiohttp was given."""
    info = route.resource.get_info() if route.resource is not None else {}
    raw = info.get("path") or info.get("formatter")
    return PARAM.sub(r"{\1}", raw) if raw else None


def path_parameters(route: web.AbstractRoute, path: str) -> list[dict]:
    """Each parameter, with the pattern of one added with its own regex ({kind:svg|png})."""
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in PARAM.findall(path)]
    pattern = (route.resource.get_info() if route.resource is not None else {}).get("pattern")
    for name, regex in _SHAPED.findall(pattern.pattern) if pattern is not None else []:
        if regex != _ANY:
            next(p for p in params if p["name"] == name)["schema"]["pattern"] = f"^(?:{regex})$"
    return params


def shaped(route: web.AbstractRoute) -> bool:
    return any(p["schema"].get("pattern") for p in path_parameters(route, route_path(route) or ""))


class Bodies:
    """The structs the routes answer with, collected once, described once under components."""

    def __init__(self, routes: list[web.AbstractRoute], requests=()) -> None:
        """requests: the structs request bodies are decoded into, described beside the answers."""
        types = {b for r in routes for s in declared(r.handler).values() for b in s.bodies if isinstance(b, type)}
        ordered = sorted(types | set(requests), key=str)
        names, self.components = msgspec.json.schema_components(ordered, ref_template="#/components/schemas/{name}")
        self._ref = dict(zip(ordered, names, strict=True))

    def schema(self, body: type) -> dict:
        return self._ref[body]

    def responses(self, handler) -> dict[str, dict]:
        found = {}
        for status, success in sorted(declared(handler).items()):
            answer: dict = {"description": success.why}
            if success.bodies:
                answer["content"] = {"application/json" if isinstance(b, type) else b:
                                     {"schema": self._ref[b]} if isinstance(b, type) else {} for b in success.bodies}
            if success.headers:
                answer["headers"] = success.headers
            found[str(status)] = answer
        return found


def _body_of(response: web.Response) -> bytes:
    body = response.body if isinstance(response.body, bytes) else b""
    return gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body


def checking() -> list:
    """[check_answers] when TABLESIDE_CHECK_ANSWERS=1 (the tests), for the end of an app's middlewares."""
    return [check_answers] if os.environ.get("TABLESIDE_CHECK_ANSWERS") == "1" else []


@web.middleware
async def check_answers(request: web.Request, handler):
    """Innermost, in tests: the handler's own answer against what it declared."""
    response = await handler(request)
    success = declared(request.match_info.handler)
    if not success or response.status >= 400 or not isinstance(response, web.Response):
        return response
    one = success.get(response.status)
    if one is None:
        raise RuntimeError(f"{request.method} {request.path} answered {response.status}, which it does not declare")
    if one.struct is not None and response.content_type == "application/json":
        try:
            msgspec.json.decode(_body_of(response), type=one.struct)
        except msgspec.ValidationError as exc:
            raise RuntimeError(f"{request.method} {request.path} answered {response.status} unlike "
                               f"{one.struct.__name__}: {exc}") from None
    return response
