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
# What a route answers besides JSON, and the refusals a client must be ready for by name.
DOWNLOADS = {("GET", f"{_MENU}/items.csv"): ["text/csv"],
             ("GET", "/api/v1/staff/tables/{table_id}/qr.{kind}"): ["image/svg+xml", "image/png"]}
# Routes whose success is 204 No Content: nothing to describe but the status.
NO_CONTENT = {("DELETE", "/api/v1/tables/{table_token}/visit"),
              ("DELETE", "/api/v1/tables/{table_token}/bill/shares/{share_id}"),
              ("POST", "/api/v1/vitals")}
_RETRY = {"Retry-After": {"description": "seconds to wait", "required": True, "schema": {"type": "string"}}}
_FLOODED = ("too many changes from this table or this client (agent/web/rate_limits.py)", _RETRY)
ANSWERS = {
    ("POST", "/api/v1/tables/{table_token}/orders"): {429: _FLOODED},
    ("POST", "/api/v1/tables/{table_token}/requests"): {429: _FLOODED},
    ("POST", "/api/v1/tables/{table_token}/bill/shares"): {429: _FLOODED},
    ("POST", SIGN_IN): {429: ("locked out, or too many tries from this client (agent/staff/signin.py)", _RETRY)},
}
_SHAPED = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_ANY = "[^{}/]+"  # aiohttp's default for a parameter
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


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
        for name, regex in _shaped(route):  # {kind:svg|png}: only those match the route
            next(p for p in op["parameters"] if p["name"] == name)["schema"]["pattern"] = f"^(?:{regex})$"
        if (route.method, path) in NO_CONTENT:
            op["responses"]["204"] = {"description": "done"}
            del op["responses"]["2XX"]
        if (route.method, path) in DOWNLOADS:
            op["responses"]["2XX"]["content"] = {t: {} for t in DOWNLOADS[(route.method, path)]}
        for status, (why, headers) in ANSWERS.get((route.method, path), {}).items():
            op["responses"][str(status)] = {**op["responses"]["4XX"], "description": why, "headers": headers}
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
