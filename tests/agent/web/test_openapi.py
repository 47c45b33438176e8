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
