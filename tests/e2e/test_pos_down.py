"""The POS (Square, through its validating stand-in) goes down during service: orders keep
printing, staff see the POS failing, and each order reaches the POS exactly once when it is back."""

from agent.app import create_app
from agent.config import PosConf
from tests.agent.helpers import count, make_config, place, table_tokens
from tests.standins.square import SquareStandIn
from tests.waiting import eventually


async def test_orders_reach_square_once_after_it_comes_back(aiohttp_client, aiohttp_server, tmp_path, emulator):
    square = SquareStandIn()
    server = await aiohttp_server(square.app())
    square.down = True
    config = make_config(tmp_path, pos=False, printers=[
        {"name": "kitchen", "stations": ["kitchen", "bar", "desserts"],
         "options": {"host": "127.0.0.1", "port": emulator.port}}])
    config.pos = PosConf(kind="square", options={"access_token": square.token, "location_id": square.location_id,
                                                 "base_url": str(server.make_url(""))})
    client = await aiohttp_client(create_app(config))
    token = (await table_tokens(client))["Table 1"]
    orders = [(await (await place(client, token, [{"item_id": "onion-soup", "qty": n}])).json())["order"]
              for n in (1, 2, 3)]

    await emulator.wait_for_tickets(3, timeout=15)  # the kitchen is not held up by the POS
    health = await eventually(lambda: _pos_failing(client), what="POS shown as failing")
    assert "Unavailable" in health["last_error"] or "503" in health["last_error"]
    assert square.orders == {}

    square.down = False
    await eventually(lambda: len(square.orders) == 3, within=40, what="orders at Square after it came back")
    done = "SELECT COUNT(*) FROM device_jobs WHERE device = 'pos' AND status = 'done'"
    await eventually(lambda: _count_is(client, done, 3), what="POS jobs done")
    assert sorted(o["reference_id"] for o in square.orders.values()) == sorted(o["id"] for o in orders)
    assert [r.problems for r in square.requests if r.problems] == []


async def _pos_failing(client):
    health = (await (await client.get("/healthz")).json())["devices"]["pos"]
    return health if health["state"] == "failing" else None


async def _count_is(client, sql, expected):
    return await count(client, sql) == expected
