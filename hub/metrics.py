"""The hub's Prometheus metrics: one registry per app (no module-level state).

Each worker serves its own on `[metrics] port` (several workers share the HTTP address, so a port
of their own per worker lets Prometheus scrape each, and avoids prometheus-client's multiprocess
mode and its caveats). Names follow Prometheus conventions: base units, counters end in _total.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import Engine

from contract import messages
from hub.metrics_state import STATE_EVERY_S, StateGauges
from hub.store.engine import connections_in_use, connections_limit

BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
APPLY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Stripe sends within a second; its retries come minutes to days later (up to three days)
WEBHOOK_LAG_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 72 * 3600)
# results of a delivery: applied, duplicate, ignored (answered, nothing to do), failed (an error: Stripe
# retries), or refused before its type is known
WEBHOOK_REFUSALS = ("bad_signature", "missing_signature", "invalid_payload", "unconfigured")
WEBHOOK_TYPES = ("checkout.session.completed", "checkout.session.expired", "payment_intent.succeeded",
                 "payment_intent.payment_failed", "charge.refunded", "account.updated")


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.port: int | None = None  # where /metrics is served, once it is
        r = self.registry
        self.link_messages = Counter("tableside_hub_link_messages", "Up-messages by type and outcome "
                                     "(applied, duplicate, stale, rejected, retried, waiting)",
                                     ["type", "outcome"], registry=r)
        self.apply_seconds = Histogram("tableside_hub_link_apply_seconds", "Time to apply one batch of "
                                       "up-messages (commit included)", buckets=APPLY_BUCKETS, registry=r)
        self.batch_size = Histogram("tableside_hub_link_batch_size_messages", "Up-messages per batch",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.in_flight = Gauge("tableside_hub_link_messages_in_flight", "Up-messages taken from the broker, "
                               "not yet applied and acked", registry=r)
        self.waiting = Gauge("tableside_hub_link_messages_waiting_prerequisite", "Up-messages kept for a "
                             "prerequisite that has not arrived", registry=r)
        self.link_connected = Gauge("tableside_hub_link_connected", "1 while connected to the broker", registry=r)
        self.http_seconds = Histogram("tableside_hub_http_request_duration_seconds", "HTTP requests by route "
                                      "and status", ["route", "status"], registry=r)
        self.db_in_use = Gauge("tableside_hub_db_connections_in_use", "Database connections checked out of "
                               "the pool now", registry=r)
        self.db_limit = Gauge("tableside_hub_db_connections_max", "The most connections the pool hands out",
                              registry=r)
        self.payments = Counter("tableside_hub_payments", "Payments by provider (stripe, demo, external: cash "
                                "or the restaurant's terminal) and outcome (taken, failed, expired, refunded, "
                                "refund_failed, second_payment)", ["provider", "outcome"], registry=r)
        self.webhooks = Counter("tableside_hub_stripe_webhooks", "Stripe webhook deliveries by event type "
                                "(other, unknown before the signature is checked) and result", ["type", "result"],
                                registry=r)
        self.webhook_lag = Histogram("tableside_hub_stripe_webhook_lag_seconds", "From a Stripe event's "
                                     "created time to the hub having handled it", buckets=WEBHOOK_LAG_BUCKETS,
                                     registry=r)
        self.reconcile_runs = Counter("tableside_hub_reconcile_runs", "Reconciliation passes by result "
                                      "(ok, unreachable: Stripe could not be reached, failed)", ["result"],
                                      registry=r)
        self.reconcile_fixed = Counter("tableside_hub_reconcile_fixed", "What reconciliation found and did, "
                                       "by kind (events_applied, sessions_recorded, expired, accounts_updated; "
                                       "events_known, sessions_known: already right)", ["kind"], registry=r)
        self.reconcile_last_success = Gauge("tableside_hub_reconcile_last_success_timestamp_seconds",
                                            "When this worker last finished a reconciliation pass (0: never; "
                                            "one worker at a time reconciles: take max())", registry=r)
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total: per worker
        self.state = StateGauges(r)  # agents online, downlink waiting, the CRL: hub/metrics_state.py
        self.state_every_s = STATE_EVERY_S
        # series that exist from the start read 0 instead of being absent: rate() and alerts see them
        for type_ in (*WEBHOOK_TYPES, "other"):
            self.webhooks.labels(type_, "failed")
        for result in WEBHOOK_REFUSALS:
            self.webhooks.labels("unknown", result)
        for result in ("ok", "unreachable", "failed"):
            self.reconcile_runs.labels(result)

    def count_link(self, type_: str, outcome: str) -> None:
        """An up-message's outcome; an applied payment.taken is also a payment (cash or terminal).
        A type the contract does not know is counted as "unknown": a topic is the sender's to
        choose, and each new label value would be a new series."""
        self.link_messages.labels(type_ if messages.by_type(type_) else "unknown", outcome).inc()
        if type_ == "payment.taken" and outcome == "applied":
            self.payments.labels("external", "taken").inc()

    def count_payment(self, provider: str, outcome: str) -> None:
        self.payments.labels(provider, outcome).inc()

    def count_webhook(self, type_: str | None, result: str, created: float | None = None) -> None:
        """One Stripe delivery; `created` (the event's, unix seconds) measures the lag to now."""
        self.webhooks.labels(type_ if type_ in WEBHOOK_TYPES else ("unknown" if type_ is None else "other"),
                             result).inc()
        if created:
            self.webhook_lag.observe(max(0.0, time.time() - created))

    def count_reconcile(self, result: str, fixed: dict[str, int] | None = None) -> None:
        self.reconcile_runs.labels(result).inc()
        for kind, n in (fixed or {}).items():
            self.reconcile_fixed.labels(kind).inc(n)
        if result == "ok":
            self.reconcile_last_success.set(time.time())

    def watch_pool(self, engine: Engine) -> None:
        """Read the pool's numbers at scrape time (no query: SQLAlchemy counts them)."""
        self.db_in_use.set_function(lambda: connections_in_use(engine))
        self.db_limit.set_function(lambda: connections_limit(engine))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@web.middleware
async def http_timing(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Request duration by route (its pattern, never the path: tokens and ids stay out) and status."""
    metrics: HubMetrics | None = request.app.get(METRICS)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if metrics is not None:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics.http_seconds.labels(route, str(status)).observe(time.perf_counter() - started)


METRICS = web.AppKey("metrics", HubMetrics)


@contextlib.asynccontextmanager
async def serve(metrics: HubMetrics, host: str, port: int) -> AsyncIterator[int]:
    """GET /metrics on its own port (0: a free one); yields the port."""
    async def handle(_request: web.Request) -> web.Response:
        # formatting ~2,000 lines takes tens of ms of CPU: in a thread, so the loop (the link's
        # batches) is not held for it; prometheus-client's metrics are safe to read from threads
        body = await asyncio.to_thread(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    finally:
        await runner.cleanup()
