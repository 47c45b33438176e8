"""Stripe's spec and example objects for the Stripe stand-in, and the objects it builds from them.

Both files are read once per test session. Every object the stand-in returns starts as a deep copy
of Stripe's own example (fixtures3.json), so it has every field the SDK and our code may read; the
builders then reset what would be misleading in a fresh object (the examples are filled with
sample values: a shipping cost, a customer email...) and apply the request's values.

The spec predates some parameters the SDK (v16) sends and Stripe accepts today; `_SPEC_GAPS` adds
them (and only them) so that the validator stays strict about everything else.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from typing import Any

from tests.standins.openapi import OpenApiSpec
from tests.standins.specs import specs_dir

SPEC_DIR = specs_dir() / "stripe"
API_VERSION = "2025-09-30.clover"

_spec: OpenApiSpec | None = None
_fixtures: dict[str, Any] | None = None


def _read(name: str) -> Any:
    path = SPEC_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"Stripe {name} missing at {path}: the Stripe stand-in validates requests against "
                                "the spec and builds answers from the fixtures, so it cannot run without them")
    return json.loads(path.read_text(encoding="utf-8"))


def _fill_spec_gaps(spec: dict[str, Any]) -> None:
    """List filters Stripe's API has (and the SDK's SessionListParams types) but this spec lacks."""
    events = spec["paths"]["/v1/events"]["get"]["parameters"]
    created = next(p for p in events if p["name"] == "created")
    sessions = spec["paths"]["/v1/checkout/sessions"]["get"]["parameters"]
    names = {p["name"] for p in sessions}
    if "created" not in names:
        sessions.append(copy.deepcopy(created))
    if "status" not in names:
        sessions.append({"in": "query", "name": "status", "required": False, "style": "form", "explode": True,
                         "schema": {"type": "string", "enum": ["complete", "expired", "open"]}})


def stripe_spec() -> OpenApiSpec:
    global _spec
    if _spec is None:
        raw = _read("spec3.json")
        _fill_spec_gaps(raw)
        _spec = OpenApiSpec(raw)
    return _spec


def fixture(resource: str) -> dict[str, Any]:
    """A fresh deep copy of Stripe's example object for a resource ("checkout.session", "charge"...)."""
    global _fixtures
    if _fixtures is None:
        _fixtures = _read("fixtures3.json")["resources"]
    return copy.deepcopy(_fixtures[resource])


def new_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def money(amount: int, currency: str) -> str:
    """How Stripe writes an amount in error messages: (€20.00)."""
    symbol = {"eur": "€", "usd": "$", "gbp": "£"}.get(currency.lower())
    text = f"{amount / 100:.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def make_account(body: dict[str, Any], now: int) -> dict[str, Any]:
    account = fixture("account")
    wanted = body.get("capabilities") or {"card_payments": {"requested": True}, "transfers": {"requested": True}}
    account.update(
        id=new_id("acct_", 16), created=now, charges_enabled=False, payouts_enabled=False, details_submitted=False,
        type=body.get("type", "custom" if body.get("controller") else "express"),
        country=body.get("country", "IE"), default_currency=body.get("default_currency", "eur"),
        email=body.get("email"), metadata=dict(body.get("metadata") or {}),
        capabilities={name: "inactive" for name, v in wanted.items() if v.get("requested") in (True, "true")})
    if "business_type" in body:
        account["business_type"] = body["business_type"]
    account["external_accounts"] = {"object": "list", "data": [], "has_more": False,
                                    "url": f"/v1/accounts/{account['id']}/external_accounts"}
    return account


def make_session(body: dict[str, Any], amount: int, currency: str, now: int, url: str) -> dict[str, Any]:
    session = fixture("checkout.session")
    for name in ("after_expiration", "customer_details", "shipping_cost", "shipping_address_collection",
                 "custom_text", "consent", "consent_collection", "invoice_creation", "total_details",
                 "payment_method_configuration_details", "recovered_from", "client_secret", "ui_mode"):
        if name in session:
            session[name] = None
    session.update(
        id=new_id("cs_test_", 58), object="checkout.session", created=now,
        expires_at=body.get("expires_at", now + 24 * 3600), status="open", payment_status="unpaid",
        url=url, amount_subtotal=amount, amount_total=amount, currency=currency, payment_intent=None,
        mode=body.get("mode", "payment"), metadata=dict(body.get("metadata") or {}),
        success_url=body.get("success_url"), cancel_url=body.get("cancel_url"),
        client_reference_id=body.get("client_reference_id"), customer_email=body.get("customer_email"),
        locale=body.get("locale"), livemode=False, custom_fields=[], shipping_options=[],
        payment_method_types=list(body.get("payment_method_types") or ["card"]))
    session["url"] = url.format(id=session["id"])
    return session


def make_payment_intent(session: dict[str, Any], data: dict[str, Any], now: int) -> dict[str, Any]:
    intent = fixture("payment_intent")
    intent.update(
        id=new_id("pi_"), created=now, amount=session["amount_total"], currency=session["currency"],
        amount_received=0, amount_capturable=0, status="requires_payment_method", canceled_at=None,
        last_payment_error=None, next_action=None, processing=None, shipping=None, latest_charge=None,
        application_fee_amount=data.get("application_fee_amount"), description=data.get("description"),
        metadata=dict(data.get("metadata") or {}), on_behalf_of=data.get("on_behalf_of"),
        capture_method=data.get("capture_method", "automatic"), receipt_email=data.get("receipt_email"),
        statement_descriptor=data.get("statement_descriptor"), transfer_group=data.get("transfer_group"),
        transfer_data=copy.deepcopy(data["transfer_data"]) if "transfer_data" in data else None,
        payment_method_types=list(session["payment_method_types"]), livemode=False)
    intent["client_secret"] = f"{intent['id']}_secret_{new_id('', 25)}"
    return intent


def make_charge(intent: dict[str, Any], now: int) -> dict[str, Any]:
    charge = fixture("charge")
    charge.update(
        id=new_id("ch_"), created=now, amount=intent["amount"], amount_captured=intent["amount"],
        amount_refunded=0, refunded=False, captured=True, paid=True, status="succeeded",
        currency=intent["currency"], payment_intent=intent["id"], metadata=dict(intent["metadata"]),
        description=intent["description"], application_fee_amount=intent["application_fee_amount"],
        application_fee=new_id("fee_") if intent["application_fee_amount"] else None,
        transfer_data=copy.deepcopy(intent["transfer_data"]), on_behalf_of=intent["on_behalf_of"],
        balance_transaction=new_id("txn_"), failure_code=None, failure_message=None, livemode=False,
        receipt_email=intent["receipt_email"], transfer_group=intent["transfer_group"])
    charge["refunds"] = {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{charge['id']}/refunds"}
    if "destination" in charge:
        charge["destination"] = (intent["transfer_data"] or {}).get("destination")
    return charge


def make_refund(charge: dict[str, Any], amount: int, body: dict[str, Any], now: int) -> dict[str, Any]:
    refund = fixture("refund")
    refund.update(
        id=new_id("re_"), created=now, amount=amount, charge=charge["id"], currency=charge["currency"],
        payment_intent=charge["payment_intent"], metadata=dict(body.get("metadata") or {}),
        reason=body.get("reason"), status="succeeded", balance_transaction=new_id("txn_"))
    return refund


def make_event(kind: str, obj: dict[str, Any], now: int, *, account: str | None = None,
               previous: dict[str, Any] | None = None, api_version: str = API_VERSION) -> dict[str, Any]:
    event = fixture("event")
    event.update(id=new_id("evt_"), type=kind, created=now, livemode=False, api_version=api_version,
                 pending_webhooks=0, request={"id": None, "idempotency_key": None},
                 data={"object": copy.deepcopy(obj)})
    if previous is not None:
        event["data"]["previous_attributes"] = previous
    if account:
        event["account"] = account  # Connect events name the connected account they happened on
    return event
