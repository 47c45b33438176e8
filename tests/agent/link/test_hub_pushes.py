"""What an operator pushes from the hub, applied once through the inbox: the menu, and settings
laid over the configuration file's (kept across restarts)."""

from datetime import UTC, datetime

from agent.app import create_app
from agent.link import inbox
from agent.link.hub_pushes import HANDLERS
from agent.state import STATE
from contract import envelope, messages
from tests.agent.helpers import make_config, place, table_tokens

NEW_MENU = {
    "restaurant": {"name": "Chez Hub", "currency": "EUR", "languages": ["en"]},
    "categories": [{"id": "mains", "name": "Mains", "items": [
        {"id": "cassoulet", "name": "Cassoulet", "price_minor": 2150}]}],
}


def _from_hub(seq: int, data) -> envelope.Envelope:
    return envelope.decode(envelope.encode("test-agent", seq, data))


async def _receive(client, env: envelope.Envelope) -> inbox.Outcome:
    state = client.app[STATE]
    outcome = await state.database.write(inbox.receive, env, HANDLERS)
    if outcome.status == "applied":
        await state.after_hub_message(env.type)  # as the link does
    return outcome


async def test_a_published_menu_replaces_the_menu_diners_see(agent_client):
    pushed = _from_hub(1, messages.MenuPublished(menu=NEW_MENU, published_at=envelope.now_iso()))
    assert (await _receive(agent_client, pushed)).status == "applied"
    menu = await (await agent_client.get("/api/v1/menu")).json()
    assert [i["id"] for c in menu["categories"] for i in c["items"]] == ["cassoulet"]
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "cassoulet", "qty": 1}])).status == 201
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status != 201
    assert (await _receive(agent_client, pushed)).status == "duplicate"


async def test_a_menu_the_agent_cannot_use_is_rejected_with_the_reason_and_changes_nothing(agent_client):
    before = await (await agent_client.get("/api/v1/menu")).json()
    broken = {**NEW_MENU, "categories": [{"id": "mains", "name": "Mains", "items": [{"id": "x", "name": "X"}]}]}
    outcome = await _receive(agent_client, _from_hub(1, messages.MenuPublished(menu=broken, published_at="x")))
    assert outcome.status == "rejected" and "price_minor" in outcome.reason
    assert await (await agent_client.get("/api/v1/menu")).json() == before
    assert [m["type"] for m in await agent_client.app[STATE].database.read(inbox.not_applied)] == ["menu.published"]


async def test_pushed_settings_apply_at_once_and_survive_a_restart(aiohttp_client, tmp_path):
    config = make_config(tmp_path, pos=False, restaurant={"wifi_ssid": "FromFile"})
    client = await aiohttp_client(create_app(config))
    assert client.app[STATE].config.payments.hold_minutes == 15
    push = messages.SettingsPushed(pushed_at=envelope.now_iso(), hold_minutes=5, close_when_paid=False)
    assert (await _receive(client, _from_hub(1, push))).status == "applied"
    assert client.app[STATE].config.payments.hold_minutes == 5
    assert client.app[STATE].config.restaurant.close_when_paid is False
    assert client.app[STATE].config.restaurant.wifi_ssid == "FromFile"  # left out: the file's stays

    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    asked = datetime.now(UTC)
    share = (await (await client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"})).json())
    held_for = (datetime.fromisoformat(share["share"]["expires_at"]) - asked).total_seconds() / 60
    assert 4.9 < held_for < 5.1

    later = messages.SettingsPushed(pushed_at=envelope.now_iso(), wifi_ssid="Guests")
    assert (await _receive(client, _from_hub(2, later))).status == "applied"
    await client.close()

    again = await aiohttp_client(create_app(config))
    restarted = again.app[STATE].config
    assert restarted.payments.hold_minutes == 5 and restarted.restaurant.close_when_paid is False
    assert restarted.restaurant.wifi_ssid == "Guests"



async def test_an_older_push_arriving_late_does_not_undo_a_newer_one(agent_client):
    """The hub resends what was not acked; a lost message can arrive after a newer one."""
    older_menu = {**NEW_MENU, "restaurant": {**NEW_MENU["restaurant"], "name": "Older"}}
    newer = _from_hub(5, messages.MenuPublished(menu=NEW_MENU, published_at=envelope.now_iso()))
    older = _from_hub(4, messages.MenuPublished(menu=older_menu, published_at=envelope.now_iso()))
    assert (await _receive(agent_client, newer)).status == "applied"
    assert (await _receive(agent_client, older)).status == "applied"  # recorded, acked, no effect
    assert agent_client.app[STATE].menu.restaurant["name"] == "Chez Hub"

    now = envelope.now_iso()
    await _receive(agent_client, _from_hub(7, messages.SettingsPushed(pushed_at=now, hold_minutes=9)))
    await _receive(agent_client, _from_hub(6, messages.SettingsPushed(pushed_at=now, hold_minutes=3,
                                                                      wifi_ssid="Late")))
    config = agent_client.app[STATE].config
    assert config.payments.hold_minutes == 9  # the newer push set it
    assert config.restaurant.wifi_ssid == "Late"  # nothing newer set this one
