import hashlib
import hmac
import json
import time

import pytest
from aiohttp import web

from drivers.pos.base import PosError, PosLine, PosOrder, PosUnavailable, PosUpdate
from drivers.pos.webhook import WebhookPos, sign

SECRET = "s3cret-shared-with-vendor"


def order() -> PosOrder:
    return PosOrder("ord-1", 3, "Table 5", "EUR", 2300, [PosLine("pizza-m", "Margherita", 2, 1150, ["Extra cheese"])])


class VendorPos:
    """The other end, written from docs/pos-webhook.md: checks signatures and idempotency keys."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.received: list[dict] = []
        self.by_key: dict[str, str] = {}
        self.fail_with = 0

    def verified(self, request: web.Request, body: bytes) -> bool:
        timestamp = request.headers.get("X-Tableside-Timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        return fresh and hmac.compare_digest(expected, request.headers.get("X-Tableside-Signature", ""))

    async def post(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.verified(request, body):
            return web.json_response({"error": "bad signature"}, status=401)
        if self.fail_with:
            return web.json_response({"error": "till offline"}, status=self.fail_with)
        message = json.loads(body)
        self.received.append(message)
        if message["type"] == "order.submit" and not message["data"]["lines"]:
            return web.json_response({"error": "an order needs lines"}, status=422)
        ref = self.by_key.setdefault(message["idempotency_key"], f"R{len(self.by_key) + 1}")
        return web.json_response({"ref": ref})

    async def menu(self, request: web.Request) -> web.Response:
        if not self.verified(request, b""):
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"items": [
            {"pos_id": "42", "name": "Margherita", "price_minor": 1150, "category": "Pizza", "available": True,
             "modifiers": [{"pos_id": "7", "name": "Extra cheese", "price_minor": 150}]},
            {"pos_id": "43", "name": "Tiramisu", "price_minor": 600, "category": "Desserts", "available": False}]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/tableside", self.post)
        app.router.add_get("/tableside/menu", self.menu)
        return app


@pytest.fixture
async def vendor(aiohttp_server):
    vendor = VendorPos()
    server = await aiohttp_server(vendor.app())
    pos = WebhookPos(url=str(server.make_url("/tableside")), secret=SECRET)
    yield vendor, pos, server
    await pos.close()


async def test_order_payment_close_are_signed_and_idempotent(vendor):
    v, pos, _ = vendor
    ref = await pos.submit_order(order(), "key-1")
    assert await pos.submit_order(order(), "key-1") == ref
    pay = await pos.add_payment(ref, 2000, 300, "card", "pay-1")
    await pos.close_check(ref)
    kinds = [m["type"] for m in v.received]
    assert kinds == ["order.submit", "order.submit", "payment.add", "check.close"]
    assert v.received[0]["data"]["lines"][0]["modifiers"] == ["Extra cheese"]
    assert v.received[2]["data"] == {"check_ref": ref, "amount_minor": 2000, "tip_minor": 300, "method": "card"}
    assert pay != ref and len(v.by_key) == 3


async def test_fetch_menu(vendor):
    _, pos, _ = vendor
    menu = await pos.fetch_menu()
    assert [(i.pos_id, i.name, i.price_minor, i.category, i.available) for i in menu.items] == [
        ("42", "Margherita", 1150, "Pizza", True), ("43", "Tiramisu", 600, "Desserts", False)]
    assert menu.items[0].modifiers[0].price_minor == 150 and menu.items[1].modifiers == []


async def test_bad_secret_is_refused(vendor):
    _, _, server = vendor
    pos = WebhookPos(url=str(server.make_url("/tableside")), secret="not-the-right-secret")
    try:
        with pytest.raises(PosError, match="signature") as info:
            await pos.submit_order(order(), "key-1")
        assert not isinstance(info.value, PosUnavailable)
    finally:
        await pos.close()


async def test_errors_map_to_pos_error_and_unavailable(vendor):
    v, pos, _ = vendor
    with pytest.raises(PosError, match="an order needs lines") as info:
        await pos.submit_order(PosOrder("o", 1, "T", "EUR", 0, []), "k")
    assert not isinstance(info.value, PosUnavailable)
    v.fail_with = 503
    with pytest.raises(PosUnavailable, match="till offline"):
        await pos.submit_order(order(), "k2")


async def test_unreachable_is_unavailable():
    from tests.services import free_port
    pos = WebhookPos(url=f"http://127.0.0.1:{free_port()}/pos", secret=SECRET, timeout=2)
    try:
        with pytest.raises(PosUnavailable):
            await pos.submit_order(order(), "k")
    finally:
        await pos.close()


def incoming(body: dict, timestamp: int, secret: str = SECRET) -> tuple[dict, bytes]:
    raw = json.dumps(body).encode()
    return {"x-tableside-timestamp": str(timestamp), "x-tableside-signature": sign(secret, str(timestamp), raw)}, raw


def test_incoming_webhook_verified_and_replays_refused():
    pos = WebhookPos(url="http://pos.invalid", secret=SECRET)
    now = int(time.time())
    event = {"id": "evt-1", "updates": [{"kind": "sold_out", "pos_id": "42", "detail": "last one sold"}]}
    headers, body = incoming(event, now)
    assert pos.parse_webhook(headers, body) == [PosUpdate("sold_out", "42", "last one sold")]
    with pytest.raises(PosError, match="replay"):
        pos.parse_webhook(headers, body)
    resent_headers, resent = incoming(event, now + 1)  # the vendor retried with a fresh signature
    assert pos.parse_webhook(resent_headers, resent) == []
    with pytest.raises(PosError, match="off our clock"):
        pos.parse_webhook(*incoming({"id": "evt-2", "updates": []}, now - 301))
    with pytest.raises(PosError, match="off our clock"):
        pos.parse_webhook(*incoming({"id": "evt-3", "updates": []}, now + 400))
    with pytest.raises(PosError, match="Signature"):
        pos.parse_webhook(*incoming({"id": "evt-4", "updates": []}, now, secret="wrong-secret-123456"))
    headers, body = incoming({"id": "evt-5", "updates": []}, now)
    with pytest.raises(PosError, match="Signature"):
        pos.parse_webhook(headers, body + b" ")
    with pytest.raises(PosError, match="unknown update kind"):
        pos.parse_webhook(*incoming({"id": "evt-6", "updates": [{"kind": "exploded", "pos_id": "1"}]}, now))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="too short"):
        WebhookPos(url="http://x", secret="short")
    with pytest.raises(TypeError, match="scret"):
        WebhookPos(url="http://x", secret=SECRET, scret="x")
