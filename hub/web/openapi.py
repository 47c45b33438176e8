"""GET /api/v1/openapi.json: the hub's HTTP API as OpenAPI 3.1, described from the router itself,
so a route cannot be missing from it. Operator routes need the bearer token; bodies are JSON
objects checked field by field (each refusal names the field)."""

import re

from aiohttp import web

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
PATH = "/api/v1/openapi.json"


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
        answer = {"description": "the outcome", "content": {"application/json": {"schema": {}}}} \
            if path.startswith("/api/") else {"description": "an HTML page", "content": {"text/html": {}}}
        op: dict = {"summary": doc.splitlines()[0] if doc else path, "responses": {
            "2XX": answer, "4XX": {"description": "refused, saying why",
                                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        params = _PARAM.findall(path)
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
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
