"""Bills and shares: taxes, every kind of share, holds, never overpaid, pay links, privacy."""

import asyncio
import uuid

import pytest

from agent.app import create_app
from agent.link import payments_inbox
from agent.link.identity import public_key_of
from agent.state import STATE
from agent.visits import bills, table_sessions
from contract import messages, pay_link
from tests.agent.helpers import make_config, place, table_tokens
from tests.waiting import eventually

SOUP, ESCARGOTS, PATE = "onion-soup", "escargots", "pate-de-campagne"  # 9.50, 13.50, 11.50


def test_tax_inclusive_and_exclusive_rounding():
    assert bills.line_tax(1000, 1000, "inclusive") == (91, 1000)  # 10/110 of 10.00 = 0.909 -> 0.91
    assert bills.line_tax(1000, 2000, "inclusive") == (167, 1000)
    assert bills.line_tax(1000, 825, "exclusive") == (83, 1083)  # 0.825 rounds half up
    assert bills.line_tax(999, 0, "exclusive") == (0, 999)


async def _setup(client, *items):
    token = (await table_tokens(client))["Table 1"]
    for item in items:
        assert (await place(client, token, [{"item_id": item, "qty": 1}])).status == 201
    return token


async def _bill(client, token):
    response = await client.get(f"/api/v1/tables/{token}/bill")
    assert response.status == 200
    return (await response.json())["bill"]


async def _share(client, token, body, status=201):
    response = await client.post(f"/api/v1/tables/{token}/bill/shares", json=body)
    data = await response.json()
    assert response.status == status, data
    return data


async def _pay(client, share_id, amount, tip=0):
    """What the hub's PaymentRecorded does, through the same handler the link uses."""
    state = client.app[STATE]
    handlers = payments_inbox.make_handlers(lambda: state.config)
    data = messages.PaymentRecorded(payment_id=str(uuid.uuid4()), share_id=share_id, bill_id="b", currency="EUR",
                                    amount_minor=amount, tip_minor=tip, fee_minor=10, provider="demo",
                                    paid_at="2026-01-01T12:00:00Z")
    return await state.database.write(lambda db: handlers["payment.recorded"](db, None, data))


async def test_bill_lists_lines_with_inclusive_tax(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS)
    bill = await _bill(agent_client, token)
    assert [line["amount_minor"] for line in bill["lines"]] == [950, 1350]
    assert bill["total_minor"] == 2300 and bill["left_minor"] == 2300 and bill["tax_mode"] == "inclusive"


async def test_exclusive_tax_is_added_on_top(aiohttp_client, tmp_path):
    config = make_config(tmp_path, restaurant={"tax_mode": "exclusive", "tax_rate_bp": 825})
    client = await aiohttp_client(create_app(config))
    token = await _setup(client, SOUP)
    bill = await _bill(client, token)
    assert bill["subtotal_minor"] == 950
    assert bill["taxes"] == [{"rate_bp": 825, "tax_minor": 78}]  # 9.50 x 8.25% = 0.78375
    assert bill["total_minor"] == 1028


async def test_no_bill_before_any_order(agent_client):
    token = (await table_tokens(agent_client))["Table 2"]
    bill = await _bill(agent_client, token)
    assert bill["id"] is None and bill["total_minor"] == 0
    data = await _share(agent_client, token, {"kind": "remaining"}, status=409)
    assert data["error"]["code"] == "nothing_to_pay"


async def test_equal_parts_cover_the_bill_exactly(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS, PATE)  # 34.50
    amounts = [(await _share(agent_client, token, {"kind": "equal", "parts": 3}))["share"]["amount_minor"]
               for _ in range(3)]
    assert amounts == [1150, 1150, 1150]
    assert (await _bill(agent_client, token))["left_minor"] == 0
    data = await _share(agent_client, token, {"kind": "equal", "parts": 3}, status=409)
    assert data["error"]["code"] == "nothing_left"


async def test_uneven_equal_parts_never_exceed_the_bill(agent_client):
    token = await _setup(agent_client, SOUP)  # 9.50 / 3
    amounts = [(await _share(agent_client, token, {"kind": "equal", "parts": 3}))["share"]["amount_minor"]
               for _ in range(3)]
    assert amounts == [317, 317, 316] and sum(amounts) == 950


async def test_items_and_part_of_an_item(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS)
    lines = (await _bill(agent_client, token))["lines"]
    soup, snails = lines[0]["id"], lines[1]["id"]
    half = await _share(agent_client, token, {"kind": "items", "items": [{"line_id": snails, "parts": 2}]})
    assert half["share"]["amount_minor"] == 675
    mine = await _share(agent_client, token, {"kind": "items", "items": [{"line_id": soup}], "tip_minor": 100})
    assert mine["share"]["amount_minor"] == 950 and mine["share"]["total_minor"] == 1050
    taken = await _share(agent_client, token, {"kind": "items", "items": [{"line_id": soup}]}, status=409)
    assert taken["error"]["code"] == "line_taken"
    bill = await _bill(agent_client, token)
    assert bill["lines"][1]["held_minor"] == 675 and bill["lines"][1]["left_minor"] == 675
    assert bill["left_minor"] == 675


async def test_amount_share_and_bad_requests(agent_client):
    token = await _setup(agent_client, SOUP)
    too_much = await _share(agent_client, token, {"kind": "amount", "amount_minor": 951}, status=409)
    assert too_much["error"]["code"] == "exceeds_left" and too_much["error"]["field"] == "amount_minor"
    for body, status in [({"kind": "amount", "amount_minor": -5}, 422), ({"kind": "bogus"}, 422),
                         ({"kind": "equal", "parts": 1}, 422), ({"kind": "remaining", "tip_minor": "5"}, 422),
                         ({"kind": "items", "items": [{"line_id": "nope"}]}, 422),
                         ({"kind": "amount", "amount_minor": 100, "tip_minor": 101}, 422),
                         ({"kind": "remaining", "extra": 1}, 422)]:
        data = await _share(agent_client, token, body, status=status)
        assert data["error"]["message"]
    response = await agent_client.post(f"/api/v1/tables/{token}/bill/shares", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await _bill(agent_client, token))["held_minor"] == 0  # nothing was half-made


async def test_twenty_diners_paying_at_once_never_overpay(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS, PATE)  # 34.50
    bodies = [{"kind": "amount", "amount_minor": 500}] * 10 + [{"kind": "remaining"}] * 5 + \
             [{"kind": "equal", "parts": 4}] * 5
    responses = await asyncio.gather(*(agent_client.post(f"/api/v1/tables/{token}/bill/shares", json=b)
                                       for b in bodies))
    held = [(await r.json())["share"]["amount_minor"] for r in responses if r.status == 201]
    refused = [r for r in responses if r.status != 201]
    assert all(r.status == 409 for r in refused) and refused
    assert sum(held) == 3450
    bill = await _bill(agent_client, token)
    assert bill["held_minor"] == 3450 and bill["left_minor"] == 0


async def test_a_hold_expires_and_a_released_share_frees_its_part(aiohttp_client, tmp_path):
    config = make_config(tmp_path, payments={"hold_minutes": 0.01})  # 0.6 s
    client = await aiohttp_client(create_app(config))
    token = await _setup(client, SOUP)
    await _share(client, token, {"kind": "remaining"})
    assert (await _bill(client, token))["left_minor"] == 0
    await eventually(lambda: _left_is(client, token, 950), what="the hold expired")
    share = (await _share(client, token, {"kind": "remaining"}))["share"]
    assert (await client.delete(f"/api/v1/tables/{token}/bill/shares/{share['id']}")).status == 204
    assert (await client.delete(f"/api/v1/tables/{token}/bill/shares/{share['id']}")).status == 404
    assert (await _bill(client, token))["left_minor"] == 950


async def _left_is(client, token, minor):
    return (await _bill(client, token))["left_minor"] == minor


async def test_same_idempotency_key_gives_the_same_share(agent_client):
    token = await _setup(agent_client, SOUP)
    headers = {"Idempotency-Key": "share-key-12345"}
    first = await agent_client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"}, headers=headers)
    again = await agent_client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "remaining"}, headers=headers)
    assert first.status == again.status == 201
    assert (await first.json())["share"]["id"] == (await again.json())["share"]["id"]
    other = await agent_client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "amount", "amount_minor": 1},
                                    headers=headers)
    assert other.status == 422


async def test_pay_url_is_signed_by_the_agent_key(agent_client):
    token = await _setup(agent_client, SOUP)
    data = await _share(agent_client, token, {"kind": "remaining", "tip_minor": 50})
    state = agent_client.app[STATE]
    hub, signed = data["pay_url"].rsplit("/pay/", 1)
    assert hub == state.config.hub.url
    key = pay_link.load_public_key(public_key_of(state.signing_key))
    share = pay_link.verify(signed, key)
    assert (share.share_id, share.amount_minor, share.tip_minor, share.currency) == \
        (data["share"]["id"], 950, 50, "EUR")
    # "Back to your table" opens the bill, straight from the link (issue 16)
    assert share.return_url == f"{state.config.public_url}/t/{token}#bill" and share.expires_at > share.issued_at
    head, sig = signed.split(".")
    forged = pay_link.sign(pay_link.ShareToPay(**{**{f: getattr(share, f) for f in share.__struct_fields__},
                                                  "amount_minor": 1}), state.signing_key).split(".")[0] + "." + sig
    with pytest.raises(pay_link.PayLinkError, match="signature"):
        pay_link.verify(forged, key)


async def test_paid_bill_frees_the_table_for_the_next_party_while_the_party_keeps_its_visit(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS)
    # ordering gave this phone (the test client) the visit's key
    assert [c.key for c in agent_client.session.cookie_jar] == ["tableside_visit"]
    first = (await _share(agent_client, token, {"kind": "amount", "amount_minor": 1000}))["share"]
    events = await _pay(agent_client, first["id"], 1000, 150)
    assert [e[0] for e in events] == ["bill"] and events[0][1]["paid_minor"] == 1000
    assert (await _bill(agent_client, token))["tips_minor"] == 150  # the event has the totals; the phone fetches the rest
    rest = (await _share(agent_client, token, {"kind": "remaining"}))["share"]
    assert rest["amount_minor"] == 1300
    events = await _pay(agent_client, rest["id"], 1300)
    assert [e[0] for e in events] == ["bill", "session"] and events[1][1]["settled"] is True
    party_bill = await _bill(agent_client, token)  # the party's phone (its cookie) still sees its paid bill
    assert party_bill["settled"] and party_bill["paid_minor"] == 2300
    assert len((await (await agent_client.get(f"/api/v1/tables/{token}/orders")).json())["orders"]) == 2

    agent_client.session.cookie_jar.clear()  # a new scan: a phone without the party's key
    assert (await _bill(agent_client, token))["id"] is None
    assert (await (await agent_client.get(f"/api/v1/tables/{token}/orders")).json())["orders"] == []
    # the next party orders: a new session, and only their order
    await _setup(agent_client, PATE)
    orders = (await (await agent_client.get(f"/api/v1/tables/{token}/orders")).json())["orders"]
    assert [o["total_minor"] for o in orders] == [1150]
    assert (await _bill(agent_client, token))["id"] != party_bill["id"]


async def test_payment_applied_twice_counts_once(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS)
    share = (await _share(agent_client, token, {"kind": "amount", "amount_minor": 500}))["share"]
    await _pay(agent_client, share["id"], 500)
    await _pay(agent_client, share["id"], 500)
    assert (await _bill(agent_client, token))["paid_minor"] == 500


async def test_staff_closing_a_table_hides_the_old_party(agent_client):
    token = await _setup(agent_client, SOUP)
    state = agent_client.app[STATE]
    table_id = (await state.database.read(lambda db: db.execute("SELECT id FROM tables WHERE token = ?",
                                                                [token]).fetchone()[0]))
    session = await state.database.read(table_sessions.current, table_id)
    assert await state.database.write(table_sessions.close, session.id, "staff")
    assert (await _bill(agent_client, token))["total_minor"] == 0


async def test_items_carry_their_own_tax_rate(aiohttp_client, tmp_path):
    """French restaurant VAT: 10 % on food (the restaurant's rate), 20 % on alcohol (the menu's)."""
    client = await aiohttp_client(create_app(make_config(tmp_path, restaurant={"tax_rate_bp": 1000})))
    token = await _setup(client, SOUP, "cremant")  # 9.50 and 7.90, prices include tax
    bill = await _bill(client, token)
    assert bill["taxes"] == [{"rate_bp": 1000, "tax_minor": 86}, {"rate_bp": 2000, "tax_minor": 132}]
    assert bill["total_minor"] == 950 + 790


@pytest.mark.parametrize("tax_mode", ["inclusive", "exclusive"])
async def test_summed_totals_match_the_full_bill(aiohttp_client, tmp_path, tax_mode):
    """bills.totals (SQL sums, what the hub is told after every order) agrees with bills.load to the
    cent: lines at several tax rates, a voided line, a paid share, a held share and an expired one."""
    config = make_config(tmp_path, restaurant={"tax_mode": tax_mode, "tax_rate_bp": 825})  # rounds on most lines
    client = await aiohttp_client(create_app(config))
    token = await _setup(client, SOUP, ESCARGOTS, PATE, SOUP, "creme-brulee", "moules-frites")
    state = client.app[STATE]
    session_id = (await _bill(client, token))["id"]

    def void_one(db):
        db.execute("UPDATE order_lines SET voided_at = '2026-01-01' WHERE rowid = (SELECT MIN(rowid) FROM order_lines)")
    await state.database.write(void_one)
    paid = await _share(client, token, {"kind": "amount", "amount_minor": 1234})
    await _pay(client, paid["share"]["id"], 1234)
    await _share(client, token, {"kind": "amount", "amount_minor": 500})
    expired = await _share(client, token, {"kind": "amount", "amount_minor": 700})

    def expire(db):
        db.execute("UPDATE bill_shares SET expires_at = '2000-01-01' WHERE id = ?", [expired["share"]["id"]])
    await state.database.write(expire)

    now = table_sessions.now_iso()
    full = await state.database.read(bills.load, session_id, tax_mode, now)
    summed = await state.database.read(bills.totals, session_id, tax_mode, now)
    assert (summed.total_minor, summed.paid_minor, summed.held_minor, summed.left_minor, summed.settled) == (
        full.total_minor, full.paid_minor, full.held_minor, full.left_minor, full.settled)
    assert full.paid_minor == 1234 and full.held_minor == 500 and full.total_minor > 0
    assert summed.currency == full.currency == "EUR"
    # the live event sums the same bill in fewer statements: the same figures and version
    _, news, _ = await state.database.read(bills.bill_event, session_id, tax_mode)
    assert (news["total_minor"], news["paid_minor"], news["held_minor"], news["left_minor"], news["settled"],
            news["currency"], news["version"]) == (full.total_minor, full.paid_minor, full.held_minor,
                                                  full.left_minor, full.settled, full.currency, full.version)


async def _news(client, token) -> dict:
    """The bill event open pages would hear now."""
    state = client.app[STATE]
    session = (await (await client.get(f"/api/v1/tables/{token}")).json())["session"]["id"]
    kind, data, _ = await state.database.read(bills.bill_event, session, state.config.restaurant.tax_mode)
    assert kind == "bill"
    return data


async def test_the_bill_event_is_its_totals_and_a_version_the_bill_shows_too(agent_client):
    token = await _setup(agent_client, SOUP, ESCARGOTS)
    news, bill = await _news(agent_client, token), await _bill(agent_client, token)
    assert news == {"id": bill["id"], "version": bill["version"], "currency": "EUR", "total_minor": 2300,
                    "paid_minor": 0, "held_minor": 0, "left_minor": 2300, "settled": False}
    assert await _news(agent_client, token) == news  # nothing changed: the same version, nothing to fetch

    seen = {news["version"]}

    async def changed() -> dict:
        now = await _news(agent_client, token)
        assert now["version"] not in seen and now["version"] == (await _bill(agent_client, token))["version"]
        seen.add(now["version"])
        return now

    assert (await place(agent_client, token, [{"item_id": PATE, "qty": 1}])).status == 201
    assert (await changed())["total_minor"] == 3450
    # a share held on one line, released, and the same amount held on another line: each is news
    bill = await _bill(agent_client, token)
    soup, pate = bill["lines"][0]["id"], bill["lines"][2]["id"]
    share = (await _share(agent_client, token, {"kind": "items", "items": [{"line_id": soup}]}))["share"]
    assert (await changed())["held_minor"] == 950
    assert (await agent_client.delete(f"/api/v1/tables/{token}/bill/shares/{share['id']}")).status == 204
    assert (await changed())["held_minor"] == 0
    other = (await _share(agent_client, token, {"kind": "items", "items": [{"line_id": pate}]}))["share"]
    assert (await changed())["held_minor"] == 1150
    await _pay(agent_client, other["id"], 1150)
    paid = await changed()
    assert paid["paid_minor"] == 1150
    # a hold that runs out changes what the bill shows without any write: back to what it showed before
    third = (await _share(agent_client, token, {"kind": "items", "items": [{"line_id": soup}]}))["share"]
    await changed()
    await agent_client.app[STATE].database.write(lambda db: db.execute(
        "UPDATE bill_shares SET expires_at = '2000-01-01T00:00:00.000+00:00' WHERE id = ?", [third["id"]]))
    assert await _news(agent_client, token) == paid


async def test_a_long_tabs_bill_event_is_as_small_as_a_short_ones(agent_client):
    token = await _setup(agent_client, SOUP)
    short = await _news(agent_client, token)
    for _ in range(20):
        assert (await place(agent_client, token, [{"item_id": SOUP, "qty": 1}] * 10)).status == 201
    long = await _news(agent_client, token)
    assert long["total_minor"] == 201 * 950 and len((await _bill(agent_client, token))["lines"]) == 201
    assert set(long) == set(short) and len(str(long)) < 250  # no lines: only the figures grow
