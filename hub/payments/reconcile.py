"""Reconciliation: apply what Stripe knows and the hub missed; close sessions whose hold is over.

Webhooks can be lost (an outage, a misconfigured endpoint, a hub that was down longer than Stripe
retries). Every few minutes, and on `tableside hub reconcile`, the hub lists recent Checkout
Sessions and events from Stripe and applies each through the same idempotent code the webhook
uses. It also expires open sessions whose share's hold on the agent has ended, so a diner cannot
pay for something another diner may have taken since.
"""

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime

from hub.metrics import HubMetrics
from hub.payments.context import Payments
from hub.payments.events import HANDLED, handle_event, session_completed
from hub.payments.providers import ProviderError
from hub.payments.stripe_provider import StripeProvider

log = logging.getLogger(__name__)

LOOKBACK_S = 3 * 24 * 3600  # Stripe retries a webhook for up to three days


async def reconcile(payments: Payments, *, lookback_s: int = LOOKBACK_S) -> dict[str, int]:
    """One pass; counts of what it did, by kind."""
    counts: Counter[str] = Counter()
    await _expire_past_hold(payments, counts)
    provider = payments.provider
    if isinstance(provider, StripeProvider):
        since = int(time.time()) - lookback_s
        for event in await provider.events_since(since, list(HANDLED)):
            first, outcome = await handle_event(payments, event)
            counts["events_applied" if first else "events_known"] += 1
        for session in await provider.sessions_since(since):
            if session.get("status") == "complete" and session.get("payment_status") == "paid":
                outcome = await session_completed(payments, session)
                counts["sessions_recorded" if outcome.startswith("recorded") else "sessions_known"] += 1
        await _sync_accounts(payments, provider, counts)
    if any(counts[k] for k in ("events_applied", "sessions_recorded", "expired", "accounts_updated")):
        log.info("reconciled %s", dict(counts))
    return dict(counts)


async def _expire_past_hold(payments: Payments, counts: Counter[str]) -> None:
    service = payments.service
    for attempt in await service.attempts_past_hold(payments.provider.name, datetime.now(UTC)):
        try:
            status = await payments.provider.expire_checkout(attempt)
        except ProviderError as exc:
            log.warning("could not expire session of attempt %s: %s", attempt["id"], exc)
            continue
        if status == "expired":
            await service.attempt_expired(attempt["id"])
            counts["expired"] += 1
        elif status == "complete" and isinstance(payments.provider, StripeProvider):
            session = await payments.provider.retrieve_session(attempt["session_id"])
            await session_completed(payments, session)
            counts["sessions_recorded"] += 1


async def _sync_accounts(payments: Payments, provider: StripeProvider, counts: Counter[str]) -> None:
    """Accounts still waiting for charges: ask Stripe (account.updated is a Connect event the
    platform's event list does not show)."""
    for restaurant in await payments.service.restaurants():
        account_id = restaurant["stripe_account_id"]
        if not account_id or restaurant["charges_enabled"]:
            continue
        account = await provider.retrieve_account(account_id)
        if account.get("charges_enabled"):
            await payments.service.account_updated(account_id, True, int(time.time()))
            counts["accounts_updated"] += 1


async def run_periodically(payments: Payments, interval_s: float, *, metrics: HubMetrics | None = None) -> None:
    """Reconcile every interval_s until cancelled; a failed pass is logged (and counted) and the
    next one tried."""
    count = metrics.count_reconcile if metrics is not None else (lambda result, fixed=None: None)
    while True:
        try:
            count("ok", await reconcile(payments))
        except ProviderError as exc:
            log.warning("reconciliation could not reach Stripe: %s", exc)
            count("unreachable")
        except Exception:
            log.exception("reconciliation failed")
            count("failed")
        await asyncio.sleep(interval_s)
