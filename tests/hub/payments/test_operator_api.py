"""The operator's restaurant, payment and report API: answers, CSV, and a clear 4xx for bad input."""

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.hub.payments.conftest import AUTH, PLAN, create_restaurant, register_agent


async def demo_payment(client, agent, amount, tip=0) -> str:
    token, _ = agent.link(amount, tip)
    assert (await client.get(f"/pay/{token}")).status == 200
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)
    assert resp.status == 303
    payments = (await (await client.get("/api/v1/payments", headers=AUTH)).json())["payments"]
    return payments[-1]["id"]


async def test_restaurants_list_get_and_agent_conflict(stripe_hub, standin):
    client = stripe_hub
    first = await create_restaurant(client, agent_ids=["a-1", "a-2"], fee_on_external=True)
    assert first["fee_plan"] == PLAN and first["agent_ids"] == ["a-1", "a-2"] and first["fee_on_external"] is True
    assert first["stripe_account_id"].startswith("acct_") and first["onboarding_url"]
    resp = await client.post("/api/v1/restaurants", headers=AUTH, json={
        "name": "Other", "country": "FR", "currency": "EUR", "fee_plan": PLAN, "agent_ids": ["a-2"]})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "agent_taken"
    listed = (await (await client.get("/api/v1/restaurants", headers=AUTH)).json())["restaurants"]
    assert [r["id"] for r in listed] == [first["id"]]  # the refused one left nothing behind
    resp = await client.post(f"/api/v1/restaurants/{first['id']}/onboarding-link", headers=AUTH)
    assert resp.status == 201 and (await resp.json())["onboarding_url"].endswith(first["stripe_account_id"])
    assert len(standin.calls("PostAccounts")) == 1  # the existing account, a new link
    assert (await client.get("/api/v1/restaurants/nope", headers=AUTH)).status == 404
    assert (await client.post("/api/v1/restaurants/nope/onboarding-link", headers=AUTH)).status == 404


async def test_stripe_down_at_creation_keeps_the_restaurant(stripe_hub, standin):
    client = stripe_hub
    standin.down = True
    restaurant = await create_restaurant(client)
    assert restaurant["onboarding_url"] is None and "Stripe" in restaurant["onboarding_error"]
    standin.down = False
    resp = await client.post(f"/api/v1/restaurants/{restaurant['id']}/onboarding-link", headers=AUTH)
    assert resp.status == 201
    again = await (await client.get(f"/api/v1/restaurants/{restaurant['id']}", headers=AUTH)).json()
    assert again["stripe_account_id"].startswith("acct_")


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": "", "country": "DE", "currency": "EUR", "fee_plan": PLAN}, "name"),
    ({"name": "X", "country": "de", "currency": "EUR", "fee_plan": PLAN}, "country"),
    ({"name": "X", "country": "DE", "currency": "EURO", "fee_plan": PLAN}, "currency"),
    ({"name": "X", "country": "DE", "currency": "EUR"}, "fee_plan"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": -1}}, "fee_plan.basis_points"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": 1, "cap_minor": 1,
                                                                      "min_minor": 5}}, "fee_plan.cap_minor"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": 1, "bonus": 1}}, "fee_plan.bonus"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": PLAN, "fee_on_external": "yes"}, "fee_on_external"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": PLAN, "agent_ids": "a-1"}, "agent_ids"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": PLAN, "agent_ids": ["a:b"]}, "agent_ids"),
    ({"name": "X", "country": "DE", "currency": "EUR", "fee_plan": PLAN, "colour": "red"}, "colour"),
])
async def test_create_restaurant_bad_input(demo_hub, body, field):
    resp = await demo_hub.post("/api/v1/restaurants", json=body, headers=AUTH)
    answer = await resp.json()
    assert resp.status == 422 and answer["error"]["code"] == "invalid", answer
    assert answer["error"]["message"].startswith(f"{field}:"), answer


async def test_bad_requests_everywhere(demo_hub):
    client = demo_hub
    for method, path in (("POST", "/api/v1/restaurants"), ("GET", "/api/v1/restaurants"),
                         ("GET", "/api/v1/payments"), ("GET", "/api/v1/reports/daily?date=2026-01-01"),
                         ("POST", "/api/v1/payments/x/refunds")):
        resp = await client.request(method, path)
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"
    for data in (b"not json", b"[1,2]", b""):
        resp = await client.post("/api/v1/restaurants", data=data, headers=AUTH)
        assert resp.status == 400
    for query in ("", "?date=yesterday", "?date=2026-13-01", "?date=2026-01-01&format=xml"):
        resp = await client.get(f"/api/v1/reports/daily{query}", headers=AUTH)
        assert resp.status == 400 and (await resp.json())["error"]["message"], query
    resp = await client.get("/api/v1/reports/daily?date=2026-01-01&restaurant=nope", headers=AUTH)
    assert resp.status == 404
    resp = await client.get("/api/v1/payments?date=01/02/2026", headers=AUTH)
    assert resp.status == 400
    resp = await client.post("/api/v1/restaurants/x/onboarding-link", headers=AUTH)
    assert resp.status == 404
    resp = await client.post("/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
    assert resp.status == 503  # no webhook secret on the demo hub: refused, never trusted
    resp = await client.get("/pay/done/nope")
    assert resp.status == 404 and "Payment not found" in await resp.text()


async def test_daily_report_adds_up(demo_hub):
    client = demo_hub
    a1, a2 = await register_agent(client, "agent-a"), await register_agent(client, "agent-b")
    first = await create_restaurant(client, agent_ids=["agent-a"])
    plan2 = {"basis_points": 200, "fixed_minor": 0, "min_minor": None, "cap_minor": None, "fee_on_tips": True}
    second = await create_restaurant(client, agent_ids=["agent-b"], plan=plan2)
    p1 = await demo_payment(client, a1, 2000, 300)
    await demo_payment(client, a1, 1000)
    await demo_payment(client, a2, 5000, 500)
    resp = await client.post(f"/api/v1/payments/{p1}/refunds", json={"amount_minor": 1150}, headers=AUTH)
    refund = await resp.json()
    today = datetime.now(UTC).date().isoformat()

    report = await (await client.get(f"/api/v1/reports/daily?date={today}", headers=AUTH)).json()
    by_id = {line["restaurant_id"]: line for line in report["restaurants"]}
    fee1 = (30 + 10) + (15 + 10)  # 1.5 % + 0.10 on 20.00 and on 10.00 (tips carry no fee)
    one = by_id[first["id"]]
    assert (one["gross"], one["tips"], one["fees"], one["refunds"], one["fee_refunds"]) == \
        (3000, 300, fee1, 1150, refund["fee_refunded_minor"])
    assert one["net"] == 3000 + 300 - fee1 - 1150 + refund["fee_refunded_minor"]
    two = by_id[second["id"]]
    assert (two["gross"], two["tips"], two["fees"], two["net"]) == (5000, 500, 110, 5390)
    [platform] = report["platform"]
    for field in ("gross", "tips", "fees", "refunds", "fee_refunds", "net"):
        assert platform[field] == one[field] + two[field]
    assert platform["platform_fee_income"] == platform["fees"] - platform["fee_refunds"]

    only = await (await client.get(f"/api/v1/reports/daily?date={today}&restaurant={second['id']}",
                                   headers=AUTH)).json()
    assert [line["restaurant_id"] for line in only["restaurants"]] == [second["id"]]

    resp = await client.get(f"/api/v1/reports/daily?date={today}&format=csv", headers=AUTH)
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["restaurant_id"] for r in rows] == sorted([first["id"], second["id"]]) + ["platform"]
    assert sum(int(r["net_minor"]) for r in rows[:-1]) == int(rows[-1]["net_minor"]) == platform["net"]

    empty = await (await client.get("/api/v1/reports/daily?date=2001-01-01", headers=AUTH)).json()
    assert empty == {"date": "2001-01-01", "restaurants": [], "platform": []}
    listed = (await (await client.get(f"/api/v1/payments?restaurant={first['id']}&date={today}",
                                      headers=AUTH)).json())["payments"]
    assert len(listed) == 2
    assert (await (await client.get("/api/v1/payments?date=2001-01-01", headers=AUTH)).json())["payments"] == []
    detail = await (await client.get(f"/api/v1/payments/{p1}", headers=AUTH)).json()
    assert detail["refunds"][0]["amount_minor"] == 1150
