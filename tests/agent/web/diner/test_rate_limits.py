"""Diners' changes are rate limited per table and per client (issue 15, finding 7); staff see a
flooded table."""

import pytest

from agent.app import create_app
from agent.config import AgentConfig
from tests.agent.helpers import make_config, place, table_tokens
from tests.agent.staff.helpers import signed_in, with_staff_routes


async def _client(aiohttp_client, tmp_path, **limits):
    return await aiohttp_client(with_staff_routes(create_app(make_config(tmp_path, limits=limits))))


async def test_a_table_is_limited_and_staff_see_it_flooded(aiohttp_client, tmp_path):
    client = await _client(aiohttp_client, tmp_path, per_table_burst=5, per_table_per_minute=1, per_client_burst=100)
    tokens = await table_tokens(client)
    statuses = [(await place(client, tokens["Table 1"], [{"item_id": "onion-soup"}])).status for _ in range(5)]
    assert statuses == [201] * 5
    refused = await place(client, tokens["Table 1"], [{"item_id": "onion-soup"}])
    assert refused.status == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await refused.json())["error"]["code"] == "too_many_requests"
    calls = await client.post(f"/api/v1/tables/{tokens['Table 1']}/requests", json={"kind": "waiter"})
    assert calls.status == 429  # calls to staff and shares count too
    assert (await place(client, tokens["Table 2"], [{"item_id": "onion-soup"}])).status == 201  # others go on
    await signed_in(client, "server")
    [flooded] = (await (await client.get("/api/v1/staff/flooded")).json())["tables"]
    assert flooded["table_name"] == "Table 1" and flooded["refused"] == 2
    alerts = (await (await client.get("/api/v1/staff/devices")).json())["alerts"]  # the red banner
    assert any(a.startswith("Table 1: far too many orders") for a in alerts)


async def test_one_client_is_limited_across_tables(aiohttp_client, tmp_path):
    client = await _client(aiohttp_client, tmp_path, per_client_burst=3, per_client_per_minute=1)
    tokens = await table_tokens(client)
    for name in ("Table 1", "Table 2", "Table 1"):
        assert (await place(client, tokens[name], [{"item_id": "onion-soup"}])).status == 201
    assert (await place(client, tokens["Table 2"], [{"item_id": "onion-soup"}])).status == 429


def test_the_defaults_leave_a_busy_table_alone():
    limits = AgentConfig().limits
    assert limits.per_table_burst >= 20 and limits.per_table_per_minute >= 20


@pytest.mark.parametrize("bad", [{"per_table_burst": 0}, {"per_client_per_minute": 0}])
def test_limits_are_checked_at_start_up(tmp_path, bad):
    from agent.config import ConfigError, from_dict
    with pytest.raises(ConfigError, match="limits"):
        from_dict({"limits": bad})
