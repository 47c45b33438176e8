"""Plugging payments into the hub app: routes, the shared Payments, the reconciliation task."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from contract.messages import RefundRequested
from hub.appkeys import CONFIG, LINK, STORE
from hub.metrics import METRICS
from hub.payments import api, webhook
from hub.payments.context import PAYMENTS, Payments, make_provider
from hub.payments.link_handlers import apply_refund_requested
from hub.payments.reconcile import run_periodically
from hub.payments.service import PaymentMessageRejected, PaymentService
from hub.store.singleton import run_as_singleton
from hub.web import pay

log = logging.getLogger(__name__)


def setup_payments(app: web.Application) -> None:
    """Call after the store's cleanup context is appended: Payments needs the store and the link."""
    pay.setup_routes(app)
    webhook.setup_routes(app)
    api.setup_routes(app)
    app.cleanup_ctx.append(_payments)


@contextlib.asynccontextmanager
async def _payments(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]

    def wake(agent_id: str) -> None:
        link = app.get(LINK)
        if link is not None:
            link.wake(agent_id)

    store, metrics = app[STORE], app[METRICS]
    service = PaymentService(store.engine, wake, count=metrics.count_payment)
    payments = Payments(config=config, store=store, service=service, provider=make_provider(config))
    app[PAYMENTS] = payments
    # staff refunds arrive over the link; cash payments (payment.taken) need only the store
    app[LINK].handle(RefundRequested.TYPE, functools.partial(apply_refund_requested, payments),
                     rejects=(PaymentMessageRejected,))
    log.info("payments provider=%s webhooks=%s", payments.provider.name,
             "verified" if config.stripe_webhook_secret else "refused (no webhook secret configured)")
    # one worker at a time asks Stripe (hub/store/singleton.py)
    reconcile = functools.partial(run_periodically, payments, config.reconcile_interval_s, metrics=metrics)
    task = asyncio.create_task(run_as_singleton(store.engine, "hub.payments.reconcile", reconcile),
                               name="hub-reconcile")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
