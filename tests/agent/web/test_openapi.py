"""The agent's OpenAPI description: every API route is in it, with the bodies it decodes."""

from agent.app import create_app
from tests.agent.helpers import make_config
from tests.agent.staff.helpers import with_staff_routes


async def test_every_route_is_described(aiohttp_client, tmp_path):
    client = await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))
    async with client.get("/api/v1/openapi.json") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    assert "post" in paths["/api/v1/tables/{table_token}/orders"]
    order = paths["/api/v1/tables/{table_token}/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert order["schema"]["$ref"] == "#/components/schemas/OrderRequest"
    assert "OrderRequest" in doc["components"]["schemas"] and "Error" in doc["components"]["schemas"]
    assert {"get", "post"} <= set(paths["/api/v1/staff/session"]) and "/api/v1/staff/bills" in paths
    count = sum(len(ops) for ops in paths.values())
    assert count >= 50
    for ops in paths.values():
        for op in ops.values():
            assert op["summary"] and "4XX" in op["responses"]


async def test_staff_credentials_downloads_and_limits_are_described(aiohttp_client, tmp_path):
    """What the fuzz run (tests/fuzz) needs to sign in and to judge an answer: staff routes name the
    session cookie (and for changes the CSRF token), sign-in needs neither; CSV and QR downloads
    say their types, the QR's kind only svg|png; routes behind limits document 429 with Retry-After."""
    client = await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))
    async with client.get("/api/v1/openapi.json") as resp:
        doc = await resp.json()
    paths, schemes = doc["paths"], doc["components"]["securitySchemes"]
    assert schemes["staffSession"] == {"type": "apiKey", "in": "cookie", "name": "tableside_staff"}
    assert schemes["csrfToken"]["name"] == "X-CSRF-Token"
    assert paths["/api/v1/staff/bills"]["get"]["security"] == [{"staffSession": []}]
    assert paths["/api/v1/staff/tables"]["post"]["security"] == [{"staffSession": [], "csrfToken": []}]
    assert "security" not in paths["/api/v1/staff/session"]["post"]
    assert "security" not in paths["/api/v1/tables/{table_token}/orders"]["post"]
    assert "text/csv" in paths["/api/v1/staff/menu/items.csv"]["get"]["responses"]["200"]["content"]
    report = paths["/api/v1/staff/report"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"application/json", "text/csv"}  # ?format=csv
    qr = paths["/api/v1/staff/tables/{table_id}/qr.{kind}"]["get"]
    assert {p["name"]: p["schema"].get("pattern") for p in qr["parameters"]}["kind"] == "^(?:svg|png)$"
    for path in ("/api/v1/tables/{table_token}/orders", "/api/v1/staff/session"):
        flooded = paths[path]["post"]["responses"]["429"]
        assert flooded["headers"]["Retry-After"]["required"] is True


async def test_every_route_declares_its_success_answers_and_their_bodies(aiohttp_client, tmp_path):
    """No success is left as "any JSON": each route names its statuses, and a JSON body is a struct in
    components (exact: a field it does not name is a mismatch). A new route without @answers fails here."""
    client = await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path))))
    async with client.get("/api/v1/openapi.json") as resp:
        doc = await resp.json()
    schemas = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            successes = {s: a for s, a in op["responses"].items() if s.startswith("2")}
            assert successes and "2XX" not in successes, f"{method.upper()} {path} declares no success answer"
            for status, answer in successes.items():
                json_body = answer.get("content", {}).get("application/json")
                if json_body is not None and path != "/api/v1/openapi.json":
                    ref = json_body["schema"]["$ref"].rsplit("/", 1)[1]
                    assert ref in schemas, (method, path, status)
    order = doc["paths"]["/api/v1/tables/{table_token}/orders"]["post"]["responses"]
    assert set(order) >= {"201", "4XX", "429"} and schemas["PlacedOrder"]["additionalProperties"] is False
    assert "content" not in doc["paths"]["/api/v1/tables/{table_token}/visit"]["delete"]["responses"]["204"]
    assert "304" in doc["paths"]["/api/v1/menu"]["get"]["responses"]
