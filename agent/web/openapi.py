"""GET /api/v1/openapi.json: the agent's HTTP API as OpenAPI 3.1, described from the router itself,
so a route cannot be missing from it (contract/openapi.py). Success answers are what each handler
declares with @answers; request bodies decoded into msgspec structs are described by
msgspec.json.schema, the rest (small JSON objects read field by field) as objects."""

from aiohttp import web

from agent.menu import editor
from agent.menu.pricing import OrderRequest
from agent.visits.shares import ShareRequest
from agent.web.staff.guard import COOKIE, CSRF_HEADER
from contract.openapi import Bodies, answers, path_parameters, route_path

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
_RETRY = {"Retry-After": {"description": "seconds to wait", "required": True, "schema": {"type": "string"}}}
_FLOODED = ("too many changes from this table or this client (agent/web/rate_limits.py)", _RETRY)
ANSWERS = {
    ("POST", "/api/v1/tables/{table_token}/orders"): {429: _FLOODED},
    ("POST", "/api/v1/tables/{table_token}/requests"): {429: _FLOODED},
    ("POST", "/api/v1/tables/{table_token}/bill/shares"): {429: _FLOODED},
    ("POST", SIGN_IN): {429: ("locked out, or too many tries from this client (agent/staff/signin.py)", _RETRY)},
}


def describe(app: web.Application) -> dict:
    routes = [r for r in app.router.routes() if r.method != "HEAD" and _described(route_path(r))]
    bodies = Bodies(routes, requests=BODIES.values())
    paths: dict[str, dict] = {}
    for route in routes:
        path = route_path(route)
        doc = (route.handler.__doc__ or route.handler.__name__).strip().splitlines()[0]
        op: dict = {"summary": doc, "responses": {**bodies.responses(route.handler), "4XX": {
            "description": "refused, saying why",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        if "{" in path:
            op["parameters"] = path_parameters(route, path)
        for status, (why, headers) in ANSWERS.get((route.method, path), {}).items():
            op["responses"][str(status)] = {**op["responses"]["4XX"], "description": why, "headers": headers}
        if path.startswith("/api/v1/staff/") and (route.method, path) != ("POST", SIGN_IN):
            # the staff guard (agent/web/staff/guard.py): a session, and for a change its CSRF token
            op["security"] = [{"staffSession": [], "csrfToken": []} if route.method != "GET"
                              else {"staffSession": []}]
        if route.method in ("POST", "PUT", "PATCH"):
            body = bodies.schema(BODIES[route.method, path]) if (route.method, path) in BODIES else {"type": "object"}
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "Tableside agent", "version": "1"}, "paths": paths,
            "components": {"schemas": {**bodies.components, "Error": ERROR},
                           "securitySchemes": SECURITY}}


def _described(path: str | None) -> bool:
    return path is not None and (path.startswith("/api/") or path == "/healthz")


@routes.get("/api/v1/openapi.json")
@answers(200, dict)
async def openapi(request: web.Request) -> web.Response:
    """This description."""
    return web.json_response(describe(request.app), headers={"Cache-Control": "no-cache"})
