"""The hub's Prometheus metrics: one registry per app (no module-level state).

Each worker serves its own on `[metrics] port` (several workers share the HTTP address, so a port
of their own per worker lets Prometheus scrape each, and avoids prometheus-client's multiprocess
mode and its caveats). Names follow Prometheus conventions: base units, counters end in _total.
"""

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
    generate_latest,
)

BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
APPLY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


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
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

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
