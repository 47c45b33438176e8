"""Requests built to break the hub's operator API (issue 15, finding 8): an Authorization header
that is not UTF-8, bodies nested too deep, amounts no currency holds. Each is a clear 4xx."""

import asyncio

from tests.hub.payments.conftest import AUTH, PLAN, create_restaurant, register_agent

DEEP = b"[" * 20000 + b"]" * 20000
DEEP_OBJECT = b'{"a": ' * 5000 + b"1" + b"}" * 5000


def _operator_routes(client):
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        public = getattr(route.handler, "public", False)  # the box's enrollment calls need no token
        if path and path.startswith("/api/v1/") and path != "/api/v1/openapi.json" and route.method != "HEAD" \
                and not public:
            yield route.method, path.replace("{", "").replace("}", "")


async def _raw(client, method: str, path: str, headers: bytes) -> int:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: hub\r\nContent-Length: 0\r\nConnection: close\r\n".encode()
                 + headers + b"\r\n")
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


async def test_an_authorization_header_that_is_not_utf8_is_a_401_everywhere(demo_hub):
    routes = list(_operator_routes(demo_hub))
    assert len(routes) >= 14
    for method, path in routes:
        for header in (b"Authorization: Bearer \xff\xfe\xfa\r\n", b"Authorization: \xc3\x28 x\r\n"):
            assert await _raw(demo_hub, method, path, header) == 401, (method, path, header)


async def test_deep_bodies_are_clear_400s(demo_hub):
    client = demo_hub
    await register_agent(client)
    await create_restaurant(client)
    targets = [("POST", "/api/v1/restaurants"), ("POST", "/api/v1/payments/p-1/refunds"),
               ("PUT", "/api/v1/agents/agent-pay-1/settings"), ("PUT", "/api/v1/agents/agent-pay-1/menu")]
    for method, path in targets:
        for body in (DEEP, DEEP_OBJECT):
            async with client.request(method, path, data=body, headers={**AUTH, "Content-Type": "application/json"}) as resp:
                assert resp.status == 400, (method, path, resp.status, await resp.text())
                assert (await resp.json())["error"]["code"]


async def test_amounts_beyond_any_currency_are_refused(demo_hub):
    client = demo_hub
    for field in ("fixed_minor", "min_minor", "cap_minor"):
        body = {"name": "Big", "country": "DE", "currency": "EUR", "fee_plan": {**PLAN, field: 2**64 - 1}}
        async with client.post("/api/v1/restaurants", json=body, headers=AUTH) as resp:
            assert resp.status == 422 and field in (await resp.json())["error"]["message"], await resp.text()
    async with client.post("/api/v1/payments/p-1/refunds", json={"amount_minor": 2**64 - 1}, headers=AUTH) as resp:
        assert resp.status == 422, await resp.text()
