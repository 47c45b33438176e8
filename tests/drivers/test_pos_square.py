import json

import pytest

from drivers.pos.base import PosError, PosLine, PosOrder, PosUnavailable, PosUpdate
from drivers.pos.square import SquarePos
from tests.services import free_port
from tests.standins.square import SquareStandIn

WEBHOOK_KEY = "whsec-test-key"
WEBHOOK_URL = "https://agent.example/pos/square/webhook"


def order(order_id: str = "ord-1") -> PosOrder:
    return PosOrder(order_id, 7, "Table 2", "EUR", 2600, [
        PosLine("pizza-m", "Margherita", 2, 1150, ["Extra cheese"], "well done"),
        PosLine("water", "Water", 1, 300)])


@pytest.fixture
async def square(aiohttp_server):
    standin = SquareStandIn()
    server = await aiohttp_server(standin.app())
    pos = SquarePos(access_token=standin.token, location_id=standin.location_id,
                    base_url=str(server.make_url("")), webhook_signature_key=WEBHOOK_KEY, webhook_url=WEBHOOK_URL)
    yield standin, pos
    await pos.close()
    # the driver never sends what Square's spec refuses, except where a test makes it
    assert [r.problems for r in standin.requests if r.problems and not getattr(standin, "typo_expected", False)] == []


async def test_same_key_makes_one_square_order(square):
    standin, pos = square
    ref = await pos.submit_order(order(), "key-1")
    assert await pos.submit_order(order(), "key-1") == ref
    assert list(standin.orders) == [ref]
    created = standin.orders[ref]
    assert created["total_money"] == {"amount": 2600, "currency": "EUR"}
    assert created["line_items"][0]["quantity"] == "2" and created["line_items"][0]["note"] == "well done"
    assert created["reference_id"] == "ord-1"
    calls = standin.calls("CreateOrder")
    assert len(calls) == 2 and all(c.status == 200 and not c.problems for c in calls)
    assert calls[0].body["idempotency_key"] == calls[1].body["idempotency_key"] != "key-1"
    assert calls[0].headers["Square-Version"] == "2025-08-20"
    assert await pos.submit_order(order("ord-2"), "key-2") != ref


async def test_payments_then_close_completes_the_order(square):
    standin, pos = square
    ref = await pos.submit_order(order(), "key-1")
    card = await pos.add_payment(ref, 2000, 200, "card", "pay-1")
    assert await pos.add_payment(ref, 2000, 200, "card", "pay-1") == card  # a retry
    cash = await pos.add_payment(ref, 600, 0, "cash", "pay-2")
    assert len(standin.payments) == 2
    assert standin.payments[card]["status"] == "APPROVED"
    assert standin.payments[card]["external_details"]["type"] == "EXTERNAL"
    assert standin.payments[cash]["source_type"] == "CASH"
    await pos.close_check(ref)
    assert standin.orders[ref]["state"] == "COMPLETED"
    assert standin.orders[ref]["total_tip_money"]["amount"] == 200
    assert {standin.payments[p]["status"] for p in (card, cash)} == {"COMPLETED"}
    await pos.close_check(ref)  # closing again is fine
    assert len(standin.calls("PayOrder")) == 1
    assert all(not r.problems for r in standin.requests)


async def test_closing_underpaid_check_is_refused_with_squares_detail(square):
    _, pos = square
    ref = await pos.submit_order(order(), "key-1")
    await pos.add_payment(ref, 1000, 0, "card", "pay-1")
    with pytest.raises(PosError, match="order total is 2600") as info:
        await pos.close_check(ref)
    assert not isinstance(info.value, PosUnavailable)


async def test_fetch_menu_from_catalog(square):
    standin, pos = square
    pizza = standin.add_item("Pizza", [("Small", 900), ("Large", 1300)], category="Mains",
                             modifiers=[("Extra cheese", 150)])
    standin.add_item("Water", [("Regular", 300)], category="Drinks")
    large = pizza["item_data"]["variations"][1]["id"]
    standin.set_sold_out(large)
    menu = await pos.fetch_menu()
    by_name = {i.name: i for i in menu.items}
    assert set(by_name) == {"Pizza (Small)", "Pizza (Large)", "Water"}
    assert by_name["Pizza (Large)"].pos_id == large and not by_name["Pizza (Large)"].available
    assert by_name["Pizza (Small)"].price_minor == 900 and by_name["Pizza (Small)"].available
    assert by_name["Pizza (Small)"].category == "Mains" and by_name["Water"].category == "Drinks"
    assert [(m.name, m.price_minor) for m in by_name["Pizza (Small)"].modifiers] == [("Extra cheese", 150)]
    assert by_name["Water"].modifiers == []


async def test_poll_updates_reports_sold_out_changes(square):
    standin, pos = square
    pizza = standin.add_item("Pizza", [("Regular", 900)])
    var = pizza["item_data"]["variations"][0]["id"]
    updates, cursor = await pos.poll_updates(None)
    assert updates == [PosUpdate("back_in_stock", var, "Regular")]
    assert (await pos.poll_updates(cursor))[0] == []
    standin.set_sold_out(var)
    updates, cursor = await pos.poll_updates(cursor)
    assert updates == [PosUpdate("sold_out", var, "Regular")]
    standin.set_sold_out(var, False)
    updates, _ = await pos.poll_updates(cursor)
    assert updates == [PosUpdate("back_in_stock", var, "Regular")]


async def test_request_the_spec_refuses_gets_400_and_pos_error(square, monkeypatch):
    standin, pos = square
    real_call = pos._call

    async def typo(method, path, *, body=None, params=None):
        if body and "order" in body:
            body["order"]["line_items"][0]["quantiy"] = body["order"]["line_items"][0].pop("quantity")
        return await real_call(method, path, body=body, params=params)

    monkeypatch.setattr(pos, "_call", typo)
    standin.typo_expected = True
    with pytest.raises(PosError, match="UNKNOWN_BODY_PARAMETER.*quantiy") as info:
        await pos.submit_order(order(), "key-1")
    assert not isinstance(info.value, PosUnavailable)
    [call] = standin.calls("CreateOrder")
    assert call.status == 400
    assert any("'quantity' is a required property" in p for p in call.problems)
    assert standin.orders == {}


async def test_wrong_token_is_a_pos_error(square):
    standin, good = square
    pos = SquarePos(access_token="wrong", location_id=standin.location_id, base_url=good.base_url)
    try:
        with pytest.raises(PosError, match="access token") as info:
            await pos.check()
        assert not isinstance(info.value, PosUnavailable)
    finally:
        await pos.close()


async def test_down_is_unavailable(square):
    standin, pos = square
    assert "ACTIVE" in await pos.check()
    standin.down = True
    with pytest.raises(PosUnavailable, match="503"):
        await pos.submit_order(order(), "key-1")
    with pytest.raises(PosUnavailable):
        await pos.check()
    standin.down = False
    assert await pos.submit_order(order(), "key-1")


async def test_unreachable_is_unavailable():
    pos = SquarePos(access_token="t", location_id="L", base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(PosUnavailable, match="unreachable"):
            await pos.fetch_menu()
    finally:
        await pos.close()


async def test_webhook_signature_good_and_bad(square):
    standin, pos = square
    headers, body = standin.webhook(WEBHOOK_KEY, WEBHOOK_URL, "inventory.count.updated", "inventory", {
        "inventory_counts": [
            {"catalog_object_id": "VAR1", "state": "IN_STOCK", "location_id": standin.location_id, "quantity": "0"},
            {"catalog_object_id": "VAR2", "state": "IN_STOCK", "location_id": standin.location_id, "quantity": "4"},
            {"catalog_object_id": "VAR3", "state": "IN_STOCK", "location_id": "OTHER", "quantity": "0"}]})
    assert pos.parse_webhook(headers, body) == [PosUpdate("sold_out", "VAR1", "quantity 0"),
                                                PosUpdate("back_in_stock", "VAR2", "quantity 4")]
    assert pos.parse_webhook(headers, body) == []  # Square's redelivery of the same event
    with pytest.raises(PosError, match="signature"):
        pos.parse_webhook(headers, body.replace(b'"0"', b'"9"'))
    wrong_key, body2 = standin.webhook("other-key", WEBHOOK_URL, "catalog.version.updated", "catalog", {})
    with pytest.raises(PosError, match="signature"):
        pos.parse_webhook(wrong_key, body2)
    with pytest.raises(PosError, match="signature"):
        pos.parse_webhook({}, body2)
    other_url, body3 = standin.webhook(WEBHOOK_KEY, "https://elsewhere/", "catalog.version.updated", "catalog", {})
    with pytest.raises(PosError, match="signature"):
        pos.parse_webhook(other_url, body3)


async def test_order_and_catalog_webhooks(square):
    standin, pos = square
    headers, body = standin.webhook(WEBHOOK_KEY, WEBHOOK_URL, "order.updated", "order", {"order_updated": {
        "order_id": "ORD1", "state": "COMPLETED", "location_id": standin.location_id, "version": 3}})
    lower = {k.lower(): v for k, v in headers.items()}
    assert pos.parse_webhook(lower, body) == [PosUpdate("check_status", "ORD1", "COMPLETED")]
    headers, body = standin.webhook(WEBHOOK_KEY, WEBHOOK_URL, "catalog.version.updated", "catalog", {
        "catalog_version": {"updated_at": "2026-01-01T00:00:00Z"}})
    assert pos.parse_webhook(headers, body) == [PosUpdate("menu_changed", "", "2026-01-01T00:00:00Z")]
    assert json.loads(body)["type"] == "catalog.version.updated"


def test_webhook_without_key_is_refused():
    pos = SquarePos(access_token="t", location_id="L")
    with pytest.raises(PosError, match="webhook_signature_key"):
        pos.parse_webhook({}, b"{}")


def test_unknown_option_fails_loudly():
    with pytest.raises(TypeError, match="locaton"):
        SquarePos(access_token="t", location_id="L", locaton="x")


def test_found_by_entry_point():
    from drivers.pos.webhook import WebhookPos
    from drivers.registry import available_pos, load_pos
    assert {"square", "webhook"} <= set(available_pos())
    assert isinstance(load_pos("square", access_token="t", location_id="L"), SquarePos)
    assert isinstance(load_pos("webhook", url="http://pos.lan", secret="0123456789abcdef"), WebhookPos)
