"""GET /api/v1/openapi.json: the agent's HTTP API as OpenAPI 3.1, described from the router itself,
so a route cannot be missing from it; the bodies decoded into msgspec structs are described by
msgspec.json.schema, the rest (small JSON objects read field by field) as objects."""

import re

import msgspec
from aiohttp import web

from agent.menu import editor
from agent.menu.pricing import OrderRequest
from agent.visits.shares import ShareRequest
from agent.web.staff.guard import COOKIE, CSRF_HEADER

routes = web.RouteTableDef()

_MENU = "/api/v1/staff/menu"
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/api/v1/tables/{table_token}/orders"): OrderRequest,
    ("POST", "/api/v1/tables/{table_token}/bill/shares"): ShareRequest,
    ("POST", f"{_MENU}/categories"): editor.CategoryFields,
    ("PUT", f"{_MENU}/categories/{{category_id}}"): editor.CategoryFields,
    ("POST", f"{_MENU}/items"): editor.ItemFields,
    ("PUT", f"{_MENU}/items/{{item_id}}"): editor.ItemFields,
    ("POST", f"{_MENU}/modifier-groups"): editor.GroupFields,
    ("PUT", f"{_MENU}/modifier-groups/{{group_id}}"): editor.GroupFields,
    ("POST", f"{_MENU}/modifier-groups/{{group_id}}/modifiers"): editor.ModifierFields,
    ("PUT", f"{_MENU}/modifier-groups/{{group_id}}/modifiers/{{modifier_id}}"): editor.ModifierFields,
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}
SIGN_IN = "/api/v1/staff/session"
SECURITY = {"staffSession": {"type": "apiKey", "in": "cookie", "name": COOKIE},
            "csrfToken": {"type": "apiKey", "in": "header", "name": CSRF_HEADER}}
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def _path(route: web.AbstractRoute) -> str | None:
    info = route.resource.get_info() if route.resource is not None else {}
    raw = info.get("path") or info.get("formatter")
    return _PARAM.sub(r"{\1}", raw) if raw else None


def describe(app: web.Application) -> dict:
    names, components = msgspec.json.schema_components(list(BODIES.values()),
                                                        ref_template="#/components/schemas/{name}")
    schema_of = dict(zip(BODIES, names, strict=True))
    paths: dict[str, dict] = {}
    for route in app.router.routes():
        path = _path(route)
        if path is None or route.method == "HEAD" or not (path.startswith("/api/") or path == "/healthz"):
            continue
        doc = (route.handler.__doc__ or route.handler.__name__).strip().splitlines()[0]
        op: dict = {"summary": doc, "responses": {
            "2XX": {"description": "done", "content": {"application/json": {"schema": {}}}},
            "4XX": {"description": "refused, saying why",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        params = _PARAM.findall(path)
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
        if path.startswith("/api/v1/staff/") and (route.method, path) != ("POST", SIGN_IN):
            # the staff guard (agent/web/staff/guard.py): a session, and for a change its CSRF token
            op["security"] = [{"staffSession": [], "csrfToken": []} if route.method != "GET"
                              else {"staffSession": []}]
        if route.method in ("POST", "PUT", "PATCH"):
            body = schema_of.get((route.method, path), {"type": "object"})
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "Tableside agent", "version": "1"}, "paths": paths,
            "components": {"schemas": {**components, "Error": ERROR}, "securitySchemes": SECURITY}}


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """This description."""
    return web.json_response(describe(request.app), headers={"Cache-Control": "no-cache"})
