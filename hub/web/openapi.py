"""GET /api/v1/openapi.json: the hub's HTTP API as OpenAPI 3.1, described from the router itself,
so a route cannot be missing from it (contract/openapi.py). Success answers are what each handler
declares with @answers (a route that declares none has none here, and tests/hub/web/test_openapi.py
fails); operator routes need the bearer token; request bodies are JSON objects checked field by
field (each refusal names the field)."""

from aiohttp import web

from contract.openapi import Bodies, answers, path_parameters, route_path, shaped
from hub.web.answers import Description

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
PATH = "/api/v1/openapi.json"
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
JSON_OUTSIDE_API = frozenset({"/healthz", "/stripe/webhook"})  # for machines, not people
# The 5xx a route answers on purpose: the hub cannot do it as configured, and the caller should retry.
SERVER_SIDE = {
    ("POST", "/stripe/webhook"): {503: "no webhook secret is configured (Stripe retries)"},
    ("GET", "/pay/{token}"): {502: "the payment service did not answer (nothing was charged)",
                              503: "the restaurant cannot take card payments yet"},
    ("POST", "/api/v1/restaurants/{id}/onboarding-link"): {502: "Stripe did not make the link"},
    ("POST", "/api/v1/payments/{id}/refunds"): {502: "the provider refused the refund (recorded as failed)"},
}


def describe(app: web.Application) -> dict:
    routes = [r for r in app.router.routes() if r.method != "HEAD" and route_path(r) is not None]
    bodies = Bodies(routes)
    paths: dict[str, dict] = {}
    for route in routes:
        path = route_path(route)
        doc = (getattr(route.handler, "__doc__", None) or getattr(route.handler, "__name__", "")).strip()
        if path.startswith("/api/") or path in JSON_OUTSIDE_API:
            refused = {"description": "refused, saying why", "content": _JSON_ERROR}
        else:  # a page for a person: its refusals are pages too ("this link has expired")
            refused = {"description": "a page saying what is wrong", "content": {"text/html": {}}}
        responses = {**bodies.responses(route.handler), "4XX": refused}
        for status, why in SERVER_SIDE.get((route.method, path), {}).items():
            responses[str(status)] = {**refused, "description": why}
        op: dict = {"summary": doc.splitlines()[0] if doc else path, "responses": responses}
        if "{" in path:
            op["parameters"] = path_parameters(route, path)
        if shaped(route) and "text/html" in refused["content"]:
            # {what:done|refresh}: any other value matches no route, and the router's 404 is JSON
            responses["404"] = {"description": "no such page", "content": {**refused["content"], **_JSON_ERROR}}
        if path.startswith("/api/v1/") and path != PATH and not getattr(route.handler, "public", False):
            op["security"] = [{"operator": []}]
        if route.method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "Tableside hub", "version": "1"}, "paths": paths,
            "components": {"schemas": {**bodies.components, "Error": ERROR},
                           "securitySchemes": {"operator": {"type": "http", "scheme": "bearer"}}}}


@answers(200, Description)
async def openapi(request: web.Request) -> web.Response:
    """This description."""
    return web.json_response(describe(request.app), headers={"Cache-Control": "no-cache"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get(PATH, openapi)
