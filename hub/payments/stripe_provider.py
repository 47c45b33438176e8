"""Stripe Connect through the official SDK: connected accounts, onboarding links, Checkout Sessions
as destination charges with the platform fee, refunds, and the listings reconciliation reads.

The SDK is blocking, so every call runs in a thread. Every create carries an idempotency key
derived from what it is for (the restaurant, the share and attempt, the refund), so a retry after
a timeout can never make a second account, session or refund. Why destination charges with
on_behalf_of: docs/payments.md, "The pay path".
"""

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe

from hub.payments.providers import Checkout, ProviderError
from hub.payments.records import Row

log = logging.getLogger(__name__)
T = TypeVar("T")
TIP_LINE_NAME = "Tip"


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# Currencies Stripe counts differently from ISO 4217: ISK has no decimals in ISO 4217 (and in
# contract.money) but Stripe takes it as a two-decimal amount (docs/payments.md, "Money").
_STRIPE_FACTOR = {"ISK": 100}


def to_stripe(amount_minor: int, currency: str) -> int:
    return amount_minor * _STRIPE_FACTOR.get(currency.upper(), 1)


def from_stripe(amount: int, currency: str) -> int:
    return amount // _STRIPE_FACTOR.get(currency.upper(), 1)


def attempt_metadata(attempt: Row) -> dict[str, str]:
    """What the session and its PaymentIntent carry, so Stripe's records name our objects."""
    return {"restaurant_id": attempt["restaurant_id"], "agent_id": attempt["agent_id"],
            "bill_id": attempt["bill_id"], "share_id": attempt["share_id"], "attempt_id": attempt["id"],
            "attempt": str(attempt["attempt"])}


def session_params(attempt: Row, account_id: str, *, success_url: str, cancel_url: str) -> dict[str, Any]:
    """The Checkout Session for one attempt, built only from the attempt's stored row: a repeat with
    the same idempotency key sends exactly the same parameters."""
    currency = attempt["currency"].lower()
    name = (attempt["description"] or attempt["table_name"] or "Your share")[:250]
    lines = []
    if attempt["amount_minor"] > 0:
        lines.append({"quantity": 1, "price_data": {"currency": currency,
                                                    "unit_amount": to_stripe(attempt["amount_minor"], currency),
                                                    "product_data": {"name": name}}})
    if attempt["tip_minor"] > 0:
        lines.append({"quantity": 1, "price_data": {"currency": currency,
                                                    "unit_amount": to_stripe(attempt["tip_minor"], currency),
                                                    "product_data": {"name": TIP_LINE_NAME}}})
    metadata = attempt_metadata(attempt)
    intent: dict[str, Any] = {"transfer_data": {"destination": account_id}, "on_behalf_of": account_id,
                              "metadata": metadata, "description": f"{attempt['table_name']}: {name}"[:250]}
    if attempt["fee_minor"] > 0:
        intent["application_fee_amount"] = to_stripe(attempt["fee_minor"], currency)
    return {"mode": "payment", "line_items": lines, "payment_intent_data": intent, "metadata": metadata,
            "client_reference_id": attempt["share_id"], "success_url": success_url, "cancel_url": cancel_url,
            "expires_at": attempt["session_expires_at"], "locale": "auto"}


def session_idempotency_key(attempt: Row) -> str:
    return f"agent-{attempt['agent_id']}-share-{attempt['share_id']}-attempt-{attempt['attempt']}"


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key: str, api_base: str, *, max_network_retries: int = 2) -> None:
        self._client = stripe.StripeClient(secret_key, base_addresses={"api": api_base},
                                           max_network_retries=max_network_retries)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(functools.partial(fn, *args))
        except stripe.StripeError as exc:
            # user_message is Stripe's own safe text; the key is never in it (Stripe masks it)
            message = exc.user_message or str(exc) or type(exc).__name__
            raise ProviderError(f"Stripe: {message}") from exc

    async def check_key(self) -> None:
        """One cheap authenticated read (`tableside hub check`); ProviderError when the key is refused."""
        await self._call(self._client.v1.events.list, {"limit": 1})

    # --- Connect ---

    async def create_account(self, restaurant: Row) -> str | None:
        params = {"type": "express", "country": restaurant["country"],
                  "default_currency": restaurant["currency"].lower(),
                  "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
                  "business_profile": {"name": restaurant["name"]},
                  "metadata": {"restaurant_id": restaurant["id"]}}
        account = await self._call(self._client.v1.accounts.create, params,
                                   {"idempotency_key": f"restaurant-{restaurant['id']}-account"})
        return account.id

    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str | None:
        link = await self._call(self._client.v1.account_links.create,
                                {"account": account_id, "type": "account_onboarding",
                                 "refresh_url": refresh_url, "return_url": return_url})
        return link.url

    async def retrieve_account(self, account_id: str) -> dict[str, Any]:
        return _plain(await self._call(self._client.v1.accounts.retrieve, account_id))

    # --- Checkout ---

    async def open_checkout(self, attempt: Row, account_id: str | None, *, success_url: str,
                            cancel_url: str) -> Checkout:
        if not account_id:
            raise ProviderError("the restaurant has no Stripe account yet")
        params = session_params(attempt, account_id, success_url=success_url, cancel_url=cancel_url)
        session = await self._call(self._client.v1.checkout.sessions.create, params,
                                   {"idempotency_key": session_idempotency_key(attempt)})
        return Checkout(session_id=session.id, url=session.url)

    async def retrieve_session(self, session_id: str) -> dict[str, Any]:
        return _plain(await self._call(self._client.v1.checkout.sessions.retrieve, session_id))

    async def expire_checkout(self, attempt: Row) -> str:
        if not attempt["session_id"]:
            return "expired"  # never reached Stripe
        try:
            await self._call(self._client.v1.checkout.sessions.expire, attempt["session_id"])
            return "expired"
        except ProviderError:
            session = await self.retrieve_session(attempt["session_id"])
            return session["status"]

    # --- refunds ---

    async def refund(self, payment: Row, refund: Row) -> str:
        params: dict[str, Any] = {"amount": to_stripe(refund["amount_minor"], payment["currency"]),
                                  "refund_application_fee": True,
                                  "reverse_transfer": True, "reason": "requested_by_customer",
                                  "metadata": {"refund_id": refund["id"], "payment_id": payment["id"],
                                               "share_id": payment["share_id"]}}
        if payment["payment_intent_id"]:
            params["payment_intent"] = payment["payment_intent_id"]
        elif payment["charge_id"]:
            params["charge"] = payment["charge_id"]
        else:
            raise ProviderError("the payment has no Stripe PaymentIntent or charge to refund")
        made = await self._call(self._client.v1.refunds.create, params, {"idempotency_key": f"refund-{refund['id']}"})
        if made.status in ("failed", "canceled"):
            raise ProviderError(f"Stripe: refund {made.id} {made.status}")
        return made.id

    async def refunds_of_charge(self, charge_id: str) -> list[dict[str, Any]]:
        return await self._all(self._client.v1.refunds.list, {"charge": charge_id, "limit": 100})

    # --- listings for reconciliation ---

    async def sessions_since(self, created_gte: int) -> list[dict[str, Any]]:
        return await self._all(self._client.v1.checkout.sessions.list, {"created": {"gte": created_gte}, "limit": 100})

    async def events_since(self, created_gte: int, types: list[str]) -> list[dict[str, Any]]:
        return await self._all(self._client.v1.events.list,
                               {"created": {"gte": created_gte}, "types": types, "limit": 100})

    async def _all(self, list_fn: Callable[..., Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        def collect() -> list[dict[str, Any]]:
            return [_plain(item) for item in list_fn(params).auto_paging_iter()]
        return await self._call(collect)
