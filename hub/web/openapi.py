"""GET /api/v1/openapi.json: the hub's HTTP API as OpenAPI 3.1, described from the router itself,
so a route cannot be missing from it. Operator routes need the bearer token; bodies are JSON
objects checked field by field (each refusal names the field)."""

import re

from aiohttp import web

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
_SHAPED = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_ANY = "[^{}/]+"  # aiohttp's default for a parameter
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
PATH = "/api/v1/openapi.json"
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
JSON_OUTSIDE_API = frozenset({"/healthz", "/stripe/webhook"})  # for machines, not people
# The 5xx a route answers on purpose: the hub cannot do it as configured, and the caller should retry.
SERVER_SIDE = {
    ("POST", "/stripe/webhook"): {503: "no webhook secret is configured (Stripe retries)"},
    ("GET", "/pay/{token}"): {503: "the restaurant cannot take card payments yet"},
}


def _shaped(route: web.AbstractRoute) -> list[tuple[str, str]]:
    """(name, regex) of each path parameter added with its own regex ({kind:svg|png}): only those match."""
    pattern = (route.resource.get_info() if route.resource is not None else {}).get("pattern")
    found = _SHAPED.findall(pattern.pattern) if pattern is not None else []
    return [(name, regex) for name, regex in found if regex != _ANY]


def _path(route: web.AbstractRoute) -> str | None:
    info = route.resource.get_info() if route.resource is not None else {}
    raw = info.get("path") or info.get("formatter")
    return _PARAM.sub(r"{\1}", raw) if raw else None


def describe(app: web.Application) -> dict:
    paths: dict[str, dict] = {}
    for route in app.router.routes():
        path = _path(route)
        if path is None or route.method == "HEAD":
            continue
        doc = (getattr(route.handler, "__doc__", None) or getattr(route.handler, "__name__", "")).strip()
        if path.startswith("/api/") or path in JSON_OUTSIDE_API:
            answer = {"description": "the outcome", "content": {"application/json": {"schema": {}}}}
            refused = {"description": "refused, saying why", "content": _JSON_ERROR}
        else:  # a page for a person: its refusals are pages too ("this link has expired")
            answer = {"description": "an HTML page", "content": {"text/html": {}}}
            refused = {"description": "a page saying what is wrong", "content": {"text/html": {}}}
        responses = {"2XX": answer, "4XX": refused}
        for status, why in SERVER_SIDE.get((route.method, path), {}).items():
            responses[str(status)] = {**refused, "description": why}
        op: dict = {"summary": doc.splitlines()[0] if doc else path, "responses": responses}
        params = _PARAM.findall(path)
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
        for name, regex in _shaped(route):  # {what:done|refresh}: only those match
            next(p for p in op["parameters"] if p["name"] == name)["schema"]["pattern"] = f"^(?:{regex})$"
            if "text/html" in refused["content"]:  # any other value matches no route: the router's JSON 404
                responses["404"] = {"description": "no such page", "content": {**refused["content"], **_JSON_ERROR}}
        if path.startswith("/api/v1/") and path != PATH and not getattr(route.handler, "public", False):
            op["security"] = [{"operator": []}]
        if route.method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "Tableside hub", "version": "1"}, "paths": paths,
            "components": {"schemas": {"Error": ERROR},
                           "securitySchemes": {"operator": {"type": "http", "scheme": "bearer"}}}}


async def openapi(request: web.Request) -> web.Response:
    """This description."""
    return web.json_response(describe(request.app), headers={"Cache-Control": "no-cache"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get(PATH, openapi)
