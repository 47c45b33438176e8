"""The Stripe stand-in, driven by the real stripe SDK (sync client, called through asyncio.to_thread)."""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial

import pytest
import stripe
from aiohttp import web

from tests.standins.stripe import StripeStandIn, sign
from tests.standins.stripe_form import decode_form, shape

SECRET = "whsec_test_secret"


async def sdk(fn, *args, **kwargs):
    """Run one blocking SDK call off the loop the stand-in serves on."""
    return await asyncio.to_thread(partial(fn, *args, **kwargs))


@pytest.fixture
async def standin(aiohttp_server):
    stand_in = StripeStandIn(webhook_secret=SECRET)
    stand_in.server = await aiohttp_server(stand_in.app())
    return stand_in


@pytest.fixture
def client(standin):
    return stripe.StripeClient("sk_test_tableside", base_addresses={"api": str(standin.server.make_url(""))},
                               max_network_retries=0).v1


@pytest.fixture
async def receiver(aiohttp_server):
    """A webhook endpoint that verifies each delivery with the SDK, as the hub will."""
    got: list[tuple[str, stripe.Event]] = []

    async def hook(request: web.Request) -> web.Response:
        payload = await request.read()
        event = stripe.Webhook.construct_event(payload, request.headers["Stripe-Signature"], SECRET)
        got.append((event.type, event))
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), got


async def connected_account(client, standin, *, enabled=True):
    account = await sdk(client.accounts.create, {"type": "express", "country": "IT", "metadata": {"venue": "v1"}})
    if enabled:
        standin.enable_charges(account.id)
    return account


def session_params(destination: str, *, fee: int = 150, share: str = "sh_1") -> dict:
    return {
        "mode": "payment", "success_url": "https://hub.test/paid/{CHECKOUT_SESSION_ID}",
        "cancel_url": "https://hub.test/cancel", "metadata": {"share_id": share},
        "line_items": [
            {"quantity": 2, "price_data": {"currency": "eur", "unit_amount": 1500, "product_data": {"name": "Pizza"}}},
            {"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 300, "product_data": {"name": "Tip"}}}],
        "payment_intent_data": {"application_fee_amount": fee, "transfer_data": {"destination": destination},
                                "metadata": {"share_id": share}},
    }


async def test_the_whole_flow_through_the_sdk(standin, client, receiver):
    url, got = receiver
    standin.webhook_url = url

    account = await sdk(client.accounts.create, {"type": "express", "country": "IT"})
    assert account.id.startswith("acct_") and account.charges_enabled is False
    link = await sdk(client.account_links.create, {"account": account.id, "type": "account_onboarding",
                                                    "refresh_url": "https://hub.test/r", "return_url": "https://hub.test/ok"})
    assert link.url == str(standin.server.make_url(f"/connect/onboard/{account.id}"))
    with pytest.raises(stripe.InvalidRequestError, match="capabilities"):  # not onboarded yet
        await sdk(client.checkout.sessions.create, session_params(account.id))
    standin.enable_charges(account.id)
    assert (await sdk(client.accounts.retrieve, account.id)).charges_enabled is True

    params = session_params(account.id)
    session = await sdk(client.checkout.sessions.create, params, {"idempotency_key": "share-sh_1"})
    assert (session.status, session.payment_status, session.amount_total, session.currency) == \
        ("open", "unpaid", 3300, "eur")
    assert session.url == str(standin.server.make_url(f"/checkout/{session.id}"))
    assert session.payment_intent is None and session.metadata["share_id"] == "sh_1"
    again = await sdk(client.checkout.sessions.create, params, {"idempotency_key": "share-sh_1"})
    assert again.id == session.id
    assert standin.calls("PostCheckoutSessions")[-1].replayed
    with pytest.raises(stripe.IdempotencyError):
        await sdk(client.checkout.sessions.create, session_params(account.id, fee=200),
                  {"idempotency_key": "share-sh_1"})

    events = standin.pay(session.id)
    assert [e["type"] for e in events] == ["checkout.session.completed", "payment_intent.succeeded"]
    paid = await sdk(client.checkout.sessions.retrieve, session.id, {"expand": ["payment_intent"]})
    intent = paid.payment_intent
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert (intent.status, intent.amount, intent.application_fee_amount) == ("succeeded", 3300, 150)
    assert intent.transfer_data.destination == account.id and intent.metadata["share_id"] == "sh_1"
    charge = await sdk(client.charges.retrieve, intent.latest_charge)
    assert (charge.amount, charge.paid, charge.payment_intent) == (3300, True, intent.id)

    listed = await sdk(client.checkout.sessions.list, {"created": {"gte": session.created}, "limit": 5})
    assert [s.id for s in listed.data] == [session.id]
    completed = await sdk(client.events.list, {"type": "checkout.session.completed"})
    assert [e.data.object.id for e in completed.data] == [session.id]

    refund = await sdk(client.refunds.create, {"payment_intent": intent.id, "amount": 1000,
                                               "refund_application_fee": True, "metadata": {"why": "cold"}})
    assert (refund.amount, refund.status, refund.charge) == (1000, "succeeded", charge.id)
    with pytest.raises(stripe.InvalidRequestError) as overdraw:
        await sdk(client.refunds.create, {"charge": charge.id, "amount": 2301})
    assert overdraw.value.code == "amount_too_large" and overdraw.value.param == "amount"
    rest = await sdk(client.refunds.create, {"charge": charge.id})
    assert rest.amount == 2300
    charge = await sdk(client.charges.retrieve, charge.id)
    assert (charge.amount_refunded, charge.refunded) == (3300, True)
    with pytest.raises(stripe.InvalidRequestError, match="already been refunded"):
        await sdk(client.refunds.create, {"charge": charge.id, "amount": 1})
    assert standin.refund_flags[refund.id]["application_fee_refunded"] == 150 * 1000 // 3300

    await standin.settle()
    assert [t for t, _ in got] == ["account.updated", "checkout.session.completed", "payment_intent.succeeded",
                                   "charge.refunded", "charge.refunded"]
    assert got[1][1].data.object.id == session.id and got[1][1].api_version == standin.api_version
    assert all(d.status == 200 for d in standin.deliveries)
    assert all(not r.problems for r in standin.requests)


async def test_created_filter_and_pagination_newest_first(standin, client):
    account = await connected_account(client, standin)
    ids = [(await sdk(client.checkout.sessions.create, session_params(account.id, share=f"s{n}"))).id
           for n in range(5)]
    first = await sdk(client.checkout.sessions.list, {"limit": 2})
    assert [s.id for s in first.data] == ids[:2:-1] and first.has_more
    second = await sdk(client.checkout.sessions.list, {"limit": 2, "starting_after": first.data[-1].id})
    assert [s.id for s in second.data] == [ids[2], ids[1]] and second.has_more
    assert [s.id for s in (await sdk(client.checkout.sessions.list, {"limit": 2, "starting_after": ids[1]})).data] \
        == [ids[0]]
    future = await sdk(client.checkout.sessions.list, {"created": {"gte": int(time.time()) + 60}})
    assert future.data == []
    standin.pay(ids[0])
    standin.fail(ids[1])
    kinds = await sdk(client.events.list, {"type": "payment_intent.*"})
    assert [e.type for e in kinds.data] == ["payment_intent.payment_failed", "payment_intent.succeeded"]
    expired = await sdk(client.checkout.sessions.expire, ids[1])
    assert expired.status == "expired"
    assert [s.id for s in (await sdk(client.checkout.sessions.list, {"status": "open"})).data] == ids[:1:-1]


async def test_unknown_parameter_and_wrong_type_are_refused_naming_the_param(standin, client):
    account = await connected_account(client, standin)
    typo = session_params(account.id)
    typo["payment_intent_data"]["aplication_fee_amount"] = 10
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await sdk(client.checkout.sessions.create, typo)
    assert unknown.value.param == "payment_intent_data[aplication_fee_amount]"
    assert "payment_intent_data[aplication_fee_amount]" in unknown.value.user_message
    wrong = session_params(account.id)
    wrong["line_items"][0]["price_data"]["unit_amount"] = "fifteen"
    with pytest.raises(stripe.InvalidRequestError) as bad_type:
        await sdk(client.checkout.sessions.create, wrong)
    assert bad_type.value.param == "line_items[0][price_data][unit_amount]"
    with pytest.raises(stripe.InvalidRequestError, match="success_url"):
        await sdk(client.checkout.sessions.create, {"mode": "payment"})
    with pytest.raises(stripe.InvalidRequestError, match="colour"):
        await sdk(client.events.list, {"colour": "red"})
    assert [bool(r.problems) for r in standin.calls("/v1/checkout/sessions")] == [True, True, True]
    assert "unit_amount" in standin.calls("PostCheckoutSessions")[1].problems[0]


async def test_auth_missing_objects_connected_accounts_and_outage(standin, client):
    bad = stripe.StripeClient("pk_live_nope", base_addresses={"api": str(standin.server.make_url(""))}).v1
    with pytest.raises(stripe.AuthenticationError):
        await sdk(bad.events.list)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await sdk(client.payment_intents.retrieve, "pi_nope")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"

    account = await connected_account(client, standin)
    direct = session_params(account.id)
    del direct["payment_intent_data"]["transfer_data"]
    session = await sdk(client.checkout.sessions.create, direct, {"stripe_account": account.id})
    assert standin.calls("PostCheckoutSessions")[-1].stripe_account == account.id
    with pytest.raises(stripe.InvalidRequestError):  # the platform does not see the connected account's session
        await sdk(client.checkout.sessions.retrieve, session.id)
    [event, _] = standin.pay(session.id)
    assert event["account"] == account.id
    seen = await sdk(client.events.list, {"type": "checkout.session.completed"}, {"stripe_account": account.id})
    assert [e.id for e in seen.data] == [event["id"]]
    with pytest.raises(stripe.InvalidRequestError, match="application_fee_amount"):
        await sdk(client.checkout.sessions.create, direct)  # a fee with neither header nor destination

    standin.down = True
    with pytest.raises(stripe.APIError):
        await sdk(client.checkout.sessions.retrieve, session.id, options={"stripe_account": account.id})
    assert standin.requests[-1].status == 500


async def test_webhooks_signed_replayable_and_tamper_evident(standin, client, receiver):
    url, got = receiver
    standin.webhook_url = url
    account = await connected_account(client, standin)
    await standin.settle()
    session = await sdk(client.checkout.sessions.create, session_params(account.id))
    completed, succeeded = standin.pay(session.id, deliver=False)
    await standin.settle()
    assert [t for t, _ in got] == ["account.updated"]
    await standin.deliver(succeeded)  # out of order, then twice
    await standin.deliver(completed)
    await standin.deliver(completed)
    assert [e.id for _, e in got[1:]] == [succeeded["id"], completed["id"], completed["id"]]

    payload = json.dumps(completed).encode()
    header = sign(payload, SECRET)
    assert stripe.Webhook.construct_event(payload, header, SECRET).id == completed["id"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.replace(b"3300", b"3301"), header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, SECRET, timestamp=int(time.time()) - 3600), SECRET)


async def test_hosted_pages_pay_and_onboard(standin, client, aiohttp_client):
    account = await sdk(client.accounts.create, {})
    await sdk(client.account_links.create, {"account": account.id, "type": "account_onboarding",
                                            "return_url": "https://hub.test/onboarded"})
    browser = await aiohttp_client(standin.server)
    answer = await browser.get(f"/connect/onboard/{account.id}", allow_redirects=False)
    assert answer.headers["Location"] == "https://hub.test/onboarded" and standin.accounts[account.id]["charges_enabled"]
    session = await sdk(client.checkout.sessions.create, session_params(account.id))
    assert "33.00 EUR" in await (await browser.get(f"/checkout/{session.id}")).text()
    answer = await browser.post(f"/checkout/{session.id}/pay", allow_redirects=False)
    assert answer.headers["Location"] == f"https://hub.test/paid/{session.id}"
    assert standin.sessions[session.id]["payment_status"] == "paid"


def test_form_decoding_follows_the_schema():
    raw = "metadata[share_id]=x&line_items[0][price_data][unit_amount]=1500&line_items[0][quantity]=2&expand[]=a"
    decoded = decode_form(raw)
    assert decoded == {"metadata": {"share_id": "x"}, "expand": {"0": "a"},
                       "line_items": {"0": {"price_data": {"unit_amount": "1500"}, "quantity": "2"}}}
    standin = StripeStandIn()
    media = standin.spec.spec["paths"]["/v1/checkout/sessions"]["post"]["requestBody"]["content"]
    shaped = shape(standin.spec.spec, decoded, media["application/x-www-form-urlencoded"]["schema"])
    assert shaped == {"metadata": {"share_id": "x"}, "expand": ["a"],
                      "line_items": [{"price_data": {"unit_amount": 1500}, "quantity": 2}]}
