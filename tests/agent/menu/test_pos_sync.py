"""Menu sync with the POS: imports keep our ids, updates flip availability, webhooks are verified."""

import asyncio
import json
import logging
import time
from pathlib import Path

import msgspec
import pytest

from agent.app import create_app
from agent.config import PosConf
from agent.menu.catalog import read_menu
from agent.menu.pos_sync import import_pos_menu, poll_pos_updates, slugify, sync_from_pos
from agent.state import STATE
from agent.store.database import Database
from agent.store.migrations import migrate
from drivers.pos.base import Pos, PosItem, PosMenu, PosModifier, PosUnavailable, PosUpdate
from drivers.pos.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.agent.helpers import make_config, place, table_tokens
from tests.waiting import eventually

SECRET = "a-shared-secret-of-32-characters"

BURGER = PosItem("P-BURGER", "Smash Burger", 1450, "Burgers", True, [PosModifier("M-CHEESE", "Cheese", 150)])
STEAK = PosItem("P-STEAK", "Steak Frites", 2600, "Mains", True)  # our sample menu has a steak-frites already


def set_catalogue(pos, *items: PosItem) -> None:
    """What the simulator POS lists as its menu (it has no API for that: staff set it up on the till)."""
    pos._catalogue = {i.pos_id: i for i in items}


def the_pos(client):
    return client.app[STATE].dispatcher.devices["pos"].pos


async def diner_menu(client) -> dict:
    resp = await client.get("/api/v1/menu")
    assert resp.status == 200
    return await resp.json()


async def items_by_id(client) -> dict[str, dict]:
    return {i["id"]: i for c in (await diner_menu(client))["categories"] for i in c["items"]}


async def item_row(client, item_id: str) -> dict:
    return await client.app[STATE].database.read(
        lambda db: dict(next(db.query("SELECT * FROM menu_items WHERE id = ?", [item_id]))))


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    """An agent with the sample menu and the simulator POS, and the webhook route mounted."""
    app = create_app(make_config(tmp_path))
    return await aiohttp_client(app)


@pytest.fixture
async def webhook_client(aiohttp_client, tmp_path):
    config = make_config(tmp_path, pos=False)
    config = msgspec.structs.replace(config, pos=PosConf(kind="webhook", options={"url": "http://127.0.0.1:9", "secret": SECRET}))
    app = create_app(config)
    return await aiohttp_client(app)


async def test_import_twice_keeps_our_ids_and_our_own_fields(client):
    state, pos = client.app[STATE], the_pos(client)
    before = await items_by_id(client)
    set_catalogue(pos, BURGER, STEAK)
    result = await sync_from_pos(state, pos)
    assert (result.created, result.updated, result.retired) == (2, 0, 0)
    items = await items_by_id(client)
    assert items["smash-burger"]["price_minor"] == 1450
    assert items["steak-frites-2"]["name"] == "Steak Frites"  # a fresh slug: ours is taken
    assert items["steak-frites"] == before["steak-frites"]
    menu = await diner_menu(client)
    burgers = next(c for c in menu["categories"] if c["name"] == "Burgers")
    assert [i["id"] for i in burgers["items"]] == ["smash-burger"]
    assert "steak-frites-2" in [i["id"] for c in menu["categories"] if c["id"] == "mains" for i in c["items"]]
    (group,) = [g for g in menu["modifier_groups"] if g["id"] in items["smash-burger"]["modifier_groups"]]
    assert (group["name"], group["min"], group["max"]) == ("Smash Burger options", 0, 1)
    assert [(m["name"], m["price_minor"]) for m in group["modifiers"]] == [("Cheese", 150)]

    # our own curation of an imported item survives the next import
    await state.database.write(lambda db: db.execute(
        "UPDATE menu_items SET description = 'Two patties', stations = '[\"grill\"]' WHERE id = 'smash-burger'"))
    set_catalogue(pos, PosItem("P-BURGER", "Smash Burger Deluxe", 1550, "Burgers", True, BURGER.modifiers), STEAK)
    result = await sync_from_pos(state, pos)
    assert (result.created, result.updated, result.retired) == (0, 1, 0)
    items = await items_by_id(client)
    burger = items["smash-burger"]
    assert (burger["name"], burger["price_minor"], burger["description"]) == ("Smash Burger Deluxe", 1550, "Two patties")
    assert (await item_row(client, "smash-burger"))["stations"] == '["grill"]'
    assert len(items) == len(before) + 2

    # a new POS item gets its own slug; names that collide get -2, -3
    set_catalogue(pos, BURGER, STEAK, PosItem("P-STEAK-XL", "Steak Frites", 3200, "Mains", True))
    assert (await sync_from_pos(state, pos)).created == 1
    assert (await items_by_id(client))["steak-frites-3"]["price_minor"] == 3200


async def test_item_gone_from_the_pos_is_unavailable_not_deleted(client):
    state, pos = client.app[STATE], the_pos(client)
    set_catalogue(pos, BURGER, STEAK)
    await sync_from_pos(state, pos)
    set_catalogue(pos, BURGER)
    result = await sync_from_pos(state, pos)
    assert (result.created, result.updated, result.retired) == (0, 0, 1)
    items = await items_by_id(client)
    assert items["steak-frites-2"]["available"] is False
    assert items["steak-frites"]["available"] is True  # never from the POS: untouched
    token = (await table_tokens(client))["Table 1"]
    resp = await place(client, token, [{"item_id": "steak-frites-2", "qty": 1}])
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "sold_out"
    # back on the POS: available again, same id
    set_catalogue(pos, BURGER, STEAK)
    assert (await sync_from_pos(state, pos)).updated == 1
    assert (await items_by_id(client))["steak-frites-2"]["available"] is True
    # and an imported item with its POS modifier can be ordered, priced from our menu
    menu = await diner_menu(client)
    cheese = next(m["id"] for g in menu["modifier_groups"] for m in g["modifiers"] if m["name"] == "Cheese")
    resp = await place(client, token, [{"item_id": "smash-burger", "qty": 2, "modifiers": [cheese]}])
    assert resp.status == 201
    assert (await resp.json())["order"]["total_minor"] == 2 * (1450 + 150)


async def test_modifier_dropped_by_the_pos_is_unavailable(client):
    state, pos = client.app[STATE], the_pos(client)
    set_catalogue(pos, BURGER)
    await sync_from_pos(state, pos)
    set_catalogue(pos, PosItem("P-BURGER", "Smash Burger", 1450, "Burgers", True,
                               [PosModifier("M-BACON", "Bacon", 200)]))
    await sync_from_pos(state, pos)
    menu = await diner_menu(client)
    (group,) = [g for g in menu["modifier_groups"] if g["name"] == "Smash Burger options"]
    assert {m["name"]: m["available"] for m in group["modifiers"]} == {"Cheese": False, "Bacon": True}
    assert group["max"] == 1


async def test_sold_out_on_the_till_reaches_the_diner_menu_by_polling(client):
    state, pos = client.app[STATE], the_pos(client)
    set_catalogue(pos, BURGER, STEAK)
    await sync_from_pos(state, pos)
    task = asyncio.create_task(poll_pos_updates(state, pos, interval=0.02))
    try:
        pos.set_sold_out("P-BURGER")
        pos.set_sold_out("steak-frites")  # not a POS id we mapped: ignored

        async def burger_sold_out():
            return (await items_by_id(client))["smash-burger"]["available"] is False
        await eventually(burger_sold_out)
        assert (await items_by_id(client))["steak-frites"]["available"] is True
        token = (await table_tokens(client))["Table 1"]
        assert (await place(client, token, [{"item_id": "smash-burger", "qty": 1}])).status == 409

        pos.set_sold_out("P-BURGER", False)

        async def burger_back():
            return (await items_by_id(client))["smash-burger"]["available"] is True
        await eventually(burger_back)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


class FlakyPos(Pos):
    """Fails twice (unreachable, then a bug), then reports a sold-out item and a menu change."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0
        self.fetches = 0

    async def submit_order(self, order, idempotency_key):
        raise NotImplementedError

    async def fetch_menu(self) -> PosMenu:
        self.fetches += 1
        return PosMenu([BURGER, PosItem("P-NEW", "Tarte Tatin", 900, "Desserts", True)])

    async def poll_updates(self, since):
        self.polls += 1
        if self.polls == 1:
            raise PosUnavailable("till offline")
        if self.polls == 2:
            raise RuntimeError("driver bug")
        if since is None:
            return [PosUpdate("sold_out", "P-BURGER"), PosUpdate("menu_changed", "")], "1"
        return [], since


async def test_polling_survives_a_failing_pos_and_refetches_a_changed_menu(client):
    state = client.app[STATE]
    await state.database.write(import_pos_menu, PosMenu([BURGER]))
    await state.reload_menu()
    pos = FlakyPos()
    task = asyncio.create_task(poll_pos_updates(state, pos, interval=0.01))
    try:
        async def refetched():
            return pos.fetches >= 1 and "tarte-tatin" in state.menu.items
        await eventually(refetched)
        # the refetched menu says the burger is available; the poll applied first, the POS menu wins
        assert state.menu.items["tarte-tatin"].category_id == "desserts"
        assert pos.polls >= 3  # one PosUnavailable and one bug did not end the loop
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_pos_that_cannot_be_polled_ends_the_loop_quietly(client, caplog):
    class NoPolling(FlakyPos):
        async def poll_updates(self, since):
            raise self._cannot("be polled for updates")

    caplog.set_level(logging.INFO, logger="agent.menu.pos_sync")
    await asyncio.wait_for(poll_pos_updates(client.app[STATE], NoPolling(), interval=0.01), 2)
    assert "cannot be polled" in caplog.text


def _signed(body: bytes, secret: str = SECRET, *, later_by: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) + later_by)
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
            "Content-Type": "application/json"}


async def test_webhook_needs_a_good_signature(webhook_client):
    client, state = webhook_client, webhook_client.app[STATE]
    await state.database.write(import_pos_menu, PosMenu([BURGER]))
    await state.reload_menu()
    body = json.dumps({"id": "evt-1", "updates": [{"kind": "sold_out", "pos_id": "P-BURGER"}]}).encode()

    resp = await client.post("/pos/webhook", data=body, headers=_signed(body, "not-the-secret-at-all"))
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "bad_signature"
    assert (await items_by_id(client))["smash-burger"]["available"] is True
    assert (await client.post("/pos/webhook", data=body)).status == 401  # unsigned

    resp = await client.post("/pos/webhook", data=body, headers=_signed(body))
    assert resp.status == 200
    assert (await resp.json())["applied"] == 1
    assert (await items_by_id(client))["smash-burger"]["available"] is False

    # the same event re-sent a second later (another timestamp, so another signature; same id) changes nothing more
    resp = await client.post("/pos/webhook", data=body, headers=_signed(body, later_by=1))
    assert resp.status == 200 and (await resp.json())["applied"] == 0

    back = json.dumps({"id": "evt-2", "updates": [{"kind": "back_in_stock", "pos_id": "P-BURGER"},
                                                  {"kind": "sold_out", "pos_id": "P-UNKNOWN"},
                                                  {"kind": "check_status", "pos_id": "CHK-1", "detail": "OPEN"}]}).encode()
    resp = await client.post("/pos/webhook", data=back, headers=_signed(back))
    assert await resp.json() == {"applied": 1, "ignored": 1, "menu_changed": False}
    assert (await items_by_id(client))["smash-burger"]["available"] is True


async def test_webhook_without_a_pos_is_404(aiohttp_client, tmp_path):
    app = create_app(make_config(tmp_path, pos=False))
    client = await aiohttp_client(app)
    resp = await client.post("/pos/webhook", data=b"[]")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "no_pos"


def test_import_into_an_empty_menu_and_bad_pos_items(tmp_path: Path):
    database = Database(tmp_path / "agent.sqlite")
    database.start()
    try:
        migrate(database)
        pos_menu = PosMenu([
            PosItem("A", "Crème brûlée", 700, "", True),
            PosItem("B", "Crème Brûlée", 750, "", False),
            PosItem("C", "Broken", -1, "", True),
            PosItem("A", "Crème brûlée again", 700, "", True),
        ])
        result = database.write_sync(import_pos_menu, pos_menu)
        assert (result.created, result.updated, result.retired) == (2, 0, 0)
        assert len(result.skipped) == 2
        menu = database.write_sync(read_menu)
        assert [(c.id, c.name) for c in menu.categories] == [("other", "Other")]
        assert {i.id: (i.price_minor, i.available, i.stations) for i in menu.items.values()} == {
            "creme-brulee": (700, True, ("kitchen",)), "creme-brulee-2": (750, False, ("kitchen",))}
        # a caller may choose the category
        database.write_sync(import_pos_menu, PosMenu([PosItem("D", "Tea", 300, "Hot", True)]),
                            lambda pos_category: "other")
        assert database.write_sync(read_menu).items["tea"].category_id == "other"
    finally:
        database.close()


def test_slugify():
    assert slugify("Crème brûlée") == "creme-brulee"
    assert slugify("  Fish & Chips!! ") == "fish-chips"
    assert slugify("日本") == "item"
    assert len(slugify("x" * 200)) <= 60


async def test_orders_for_imported_items_reach_the_pos_under_its_own_ids(client):
    pos = the_pos(client)
    set_catalogue(pos, BURGER)
    await sync_from_pos(client.app[STATE], pos)
    burger_id = next(i for i, item in (await items_by_id(client)).items() if item["name"] == "Smash Burger")
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [{"item_id": burger_id, "qty": 1}])).status == 201
    await eventually(lambda: pos.checks, what="check at the POS")
    assert pos.checks[0]["lines"][0]["item_id"] == "P-BURGER"
