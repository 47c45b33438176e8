"""The operator's API for one agent: reported devices and bills, menu and settings pushed over the
link's outbox; on SQLite and PostgreSQL."""

import pytest

from contract import envelope, messages, topics
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.config import HubConfig
from tests.hub.factories import TOKEN, decoded, encoded, order_placed
from tests.services import free_port

AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENT = "agent-1"
MENU = {"restaurant": {"name": "Brasserie", "currency": "EUR"}, "modifier_groups": [],
        "categories": [{"id": "mains", "name": "Mains", "items": []}]}


@pytest.fixture
async def client(aiohttp_client, tmp_path, database_url):
    # No broker listens on broker_port: the link retries in the background, harmlessly.
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=free_port(),
                       database_url=database_url)
    client = await aiohttp_client(create_app(config))
    await client.app[STORE].touch_agent(AGENT, True)
    return client


@pytest.fixture
def woken(client, monkeypatch) -> list[str]:
    """Agents the API told the link to send to now."""
    calls: list[str] = []
    monkeypatch.setattr(client.app[LINK], "wake", calls.append)
    return calls


async def queued(client, agent_id: str = AGENT) -> list[tuple[envelope.Envelope, object]]:
    pending = await client.app[STORE].down_pending(agent_id, 0, 100)
    return [(env, envelope.decode_data(env)) for env in (envelope.decode(m.payload) for m in pending)]


async def error(resp, status: int) -> str:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]["message"]


async def report(client, data, seq: int, agent_id: str = AGENT) -> None:
    store = client.app[STORE]
    apply = store.apply_bill_changed if isinstance(data, messages.BillChanged) else store.apply_device_status
    assert await apply(decoded(agent_id, data, seq=seq), data) == "applied"


def paper_out(name: str = "kitchen") -> messages.DeviceStatus:
    return messages.DeviceStatus(device=name, kind="printer", state="paper_out", detail="Paper end", waiting=2,
                                 held=1, changed_at="2026-11-25T19:31:00.000Z")


def bill(bill_id: str, status: str = "open", left_minor: int = 2500) -> messages.BillChanged:
    return messages.BillChanged(bill_id=bill_id, table_name="Table 4", currency="EUR", total_minor=2500,
                                paid_minor=2500 - left_minor, left_minor=left_minor, status=status,
                                changed_at="2026-11-25T19:30:00.000Z")


# --- reads ---

async def test_devices_of_an_agent_and_in_the_agents_list(client):
    await report(client, paper_out("kitchen"), seq=4)
    await report(client, messages.DeviceStatus(device="pos", kind="pos", state="online", detail="", waiting=0,
                                               held=0, changed_at="2026-11-25T19:00:00.000Z"), seq=2)
    resp = await client.get(f"/api/v1/agents/{AGENT}/devices", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["agent_id"] == AGENT
    assert body["devices"][0] == {"device": "kitchen", "kind": "printer", "state": "paper_out",
                                  "detail": "Paper end", "waiting": 2, "held": 1,
                                  "changed_at": "2026-11-25T19:31:00.000Z", "seq": 4}
    assert [d["device"] for d in body["devices"]] == ["kitchen", "pos"]

    await client.app[STORE].touch_agent("agent-2", False)  # reported nothing yet
    resp = await client.get("/api/v1/agents", headers=AUTH)
    agents = {a["id"]: a for a in (await resp.json())["agents"]}
    assert agents[AGENT]["devices"][0] == {"device": "kitchen", "kind": "printer", "state": "paper_out",
                                           "held": 1, "waiting": 2, "changed_at": "2026-11-25T19:31:00.000Z"}
    assert agents["agent-2"]["devices"] == []


async def test_bills_with_and_without_a_status_filter(client):
    await report(client, bill("bill-1"), seq=1)
    await report(client, bill("bill-2", "settled", 0), seq=2)
    await report(client, bill("bill-3"), seq=3)
    resp = await client.get(f"/api/v1/agents/{AGENT}/bills", headers=AUTH)
    assert resp.status == 200
    assert [b["bill_id"] for b in (await resp.json())["bills"]] == ["bill-3", "bill-2", "bill-1"]
    resp = await client.get(f"/api/v1/agents/{AGENT}/bills?status=open&limit=1", headers=AUTH)
    (only,) = (await resp.json())["bills"]
    assert only == {"bill_id": "bill-3", "table_name": "Table 4", "currency": "EUR", "total_minor": 2500,
                    "paid_minor": 0, "left_minor": 2500, "status": "open",
                    "changed_at": "2026-11-25T19:30:00.000Z", "seq": 3}
    assert "status: expected one of open, settled, closed" in await error(
        await client.get(f"/api/v1/agents/{AGENT}/bills?status=paid", headers=AUTH), 400)
    assert "limit:" in await error(await client.get(f"/api/v1/agents/{AGENT}/bills?limit=0", headers=AUTH), 400)


# --- pushes ---

async def test_menu_is_queued_once_for_the_agent_and_sent_now(client, woken):
    resp = await client.put(f"/api/v1/agents/{AGENT}/menu", json=MENU, headers=AUTH)
    assert resp.status == 202
    answer = await resp.json()
    ((env, data),) = await queued(client)
    assert answer == {"id": env.id, "seq": env.seq, "type": "menu.published"}
    assert (env.type, env.agent_id, env.seq) == ("menu.published", AGENT, 1)
    assert isinstance(data, messages.MenuPublished) and data.menu == MENU and data.published_at.endswith("Z")
    assert woken == [AGENT]


async def test_settings_are_queued_with_only_what_was_given(client, woken):
    body = {"hold_minutes": 15, "close_when_paid": False, "wifi_ssid": "Lumiere-Guests",
            "wifi_password": "croissant42"}
    resp = await client.put(f"/api/v1/agents/{AGENT}/settings", json=body, headers=AUTH)
    assert resp.status == 202
    ((env, data),) = await queued(client)
    assert await resp.json() == {"id": env.id, "seq": 1, "type": "settings.pushed"}
    assert isinstance(data, messages.SettingsPushed) and data.pushed_at.endswith("Z")
    assert (data.hold_minutes, data.close_when_paid, data.wifi_ssid, data.wifi_password) == (
        15, False, "Lumiere-Guests", "croissant42")

    resp = await client.put(f"/api/v1/agents/{AGENT}/settings", json={"hold_minutes": 30}, headers=AUTH)
    assert (await resp.json())["seq"] == 2
    _, (_, second) = await queued(client)
    assert (second.hold_minutes, second.close_when_paid, second.wifi_ssid) == (30, None, None)  # the rest kept
    assert woken == [AGENT, AGENT]


@pytest.mark.parametrize(("body", "message"), [
    (b"", "the body is empty"),
    (b"{not json", "the body is not valid JSON"),
    (b"[1, 2]", "the body must be a JSON object (the menu document), got a list"),
    (b'{"categories": []}', "restaurant: required, an object"),
    (b'{"restaurant": {}}', "categories: required, a list"),
    (b'{"restaurant": "Brasserie", "categories": []}', "restaurant: must be an object, got a string"),
    (b'{"restaurant": {}, "categories": {}}', "categories: must be a list, got an object"),
])
async def test_bad_menu_is_400_and_queues_nothing(client, woken, body, message):
    resp = await client.put(f"/api/v1/agents/{AGENT}/menu", data=body, headers=AUTH)
    assert message in await error(resp, 400)
    assert await queued(client) == [] and woken == []


@pytest.mark.parametrize(("body", "message"), [
    (b"", "the body is empty"),
    (b"{", "the body is not valid JSON"),
    (b'"hold_minutes"', "the body must be a JSON object"),
    (b"{}", "no setting given: send at least one of close_when_paid, hold_minutes"),
    (b'{"hold_minutes": null}', "no setting given"),
    (b'{"hold_minutes": 10, "colour": "red"}', "colour: unknown setting (expected some of close_when_paid"),
    (b'{"pushed_at": "2026-01-01T00:00:00Z"}', "pushed_at: unknown setting"),
    (b'{"hold_minutes": 0}', "hold_minutes: must be an integer from 1 to 120"),
    (b'{"hold_minutes": 121}', "hold_minutes: must be an integer from 1 to 120"),
    (b'{"hold_minutes": "15"}', "hold_minutes: must be an integer from 1 to 120"),
    (b'{"hold_minutes": 15.5}', "hold_minutes: must be an integer from 1 to 120"),
    (b'{"close_when_paid": "yes"}', "close_when_paid: must be true or false"),
    (b'{"wifi_ssid": "%s"}' % (b"x" * 33), "wifi_ssid: must be a string of at most 32 characters"),
    (b'{"wifi_password": 12345678}', "wifi_password: must be a string of at most 63 characters"),
])
async def test_bad_settings_are_400_naming_the_field_and_queue_nothing(client, woken, body, message):
    resp = await client.put(f"/api/v1/agents/{AGENT}/settings", data=body, headers=AUTH)
    assert message in await error(resp, 400)
    assert await queued(client) == [] and woken == []


async def test_a_wrong_wifi_password_is_not_echoed(client):
    resp = await client.put(f"/api/v1/agents/{AGENT}/settings", json={"wifi_password": "s3cret" * 20}, headers=AUTH)
    assert "s3cret" not in await error(resp, 400)


async def test_body_over_one_mebibyte_is_413(client, woken):
    big = {**MENU, "restaurant": {"name": "x" * (1024 * 1024)}}
    resp = await client.put(f"/api/v1/agents/{AGENT}/menu", json=big, headers=AUTH)
    assert "at most 1048576 bytes" in await error(resp, 413)

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    resp = await client.put(f"/api/v1/agents/{AGENT}/menu", data=chunks(), headers=AUTH)
    await error(resp, 413)
    assert await queued(client) == [] and woken == []


async def test_unknown_agent_is_404_for_every_route(client, woken):
    for method, path, body in (("GET", "devices", None), ("GET", "bills", None), ("PUT", "menu", MENU),
                               ("PUT", "settings", {"hold_minutes": 5})):
        resp = await client.request(method, f"/api/v1/agents/nobody/{path}", json=body, headers=AUTH)
        assert "no agent 'nobody'" in await error(resp, 404)
    assert await queued(client, "nobody") == [] and woken == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer forged-token-forged-token-forged"},
                                     {"Authorization": TOKEN}])
async def test_every_route_needs_the_operator_token(client, woken, headers):
    for method, path, body in (("GET", "devices", None), ("GET", "bills", None), ("PUT", "menu", MENU),
                               ("PUT", "settings", {"hold_minutes": 5})):
        resp = await client.request(method, f"/api/v1/agents/{AGENT}/{path}", json=body, headers=headers)
        await error(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert await queued(client) == [] and woken == []


async def test_operators_see_who_knocked_without_enrolling(client):
    link = client.app[LINK]
    body = encoded("agent-made-up", order_placed())
    assert await link.process(topics.up("agent-made-up", "order.placed"), body) is None
    resp = await client.get("/api/v1/refused-senders", headers=AUTH)
    assert resp.status == 200
    [row] = (await resp.json())["refused_senders"]
    assert (row["agent_id"], row["verdict"], row["messages"], row["last_type"]) == \
        ("agent-made-up", "unknown", 1, "order.placed")
    assert (await client.get("/api/v1/refused-senders")).status == 401
    assert (await client.get("/api/v1/refused-senders?limit=0", headers=AUTH)).status == 400
