"""The agent's Prometheus metrics, at GET /metrics for the box's own monitoring.

What happens is counted where it happens: every HTTP request's duration by route (the route's
pattern, never a table token) and status, orders taken, and what diners' phones report of their
own experience (agent/web/diner/vitals_api.py). What things are like (device queues, held tickets,
the outbox, the link) is read when Prometheus asks, so nothing polls for it. One registry per app,
no process-wide state. Names follow Prometheus' conventions: base units, `_total` for counters.

Like /healthz's details, /metrics answers only the box itself (loopback) unless
`[metrics] allow_from` names the monitoring host's address.
"""

import ipaddress
import time

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from agent.devices.dispatch import queue_counts
from agent.devices.held_jobs import list_held
from agent.state import STATE
from agent.store import outbox

SECONDS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0)
STREAMS = ("/events",)  # live streams stay open for hours: their duration says nothing
MAX_CACHED_LABELS = 1000


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.http = Histogram("tableside_agent_http_request_duration_seconds",
                              "HTTP requests answered by the agent, by route pattern, method and status.",
                              ["route", "method", "status"], buckets=SECONDS, registry=r)
        self.orders = Counter("tableside_agent_orders_taken_total",
                              "Orders diners placed (a replay of the same Idempotency-Key is not counted).",
                              registry=r)
        self.queue = Gauge("tableside_agent_device_jobs", "Device jobs by device and status (pending, sending, held...).",
                           ["device", "status"], registry=r)
        self.held = Gauge("tableside_agent_device_held_tickets", "Tickets held for staff, by device.", ["device"],
                          registry=r)
        self.outbox = Gauge("tableside_agent_outbox_waiting_messages", "Messages to the hub not yet acknowledged.",
                            registry=r)
        self.connected = Gauge("tableside_agent_link_connected", "1 while the link to the hub is up.", registry=r)
        self.ack_age = Gauge("tableside_agent_link_last_ack_age_seconds",
                             "Seconds since the hub last acknowledged a message (absent before the first).",
                             registry=r)
        # what diners' phones measured (agent/web/diner/vitals_api.py)
        self.vital_seconds = Histogram("tableside_agent_diner_vital_seconds",
                                       "Diners' own timings: lcp, inp, menu_paint, order_confirmed.", ["vital"],
                                       buckets=(.05, .1, .2, .5, 1.0, 1.5, 2.5, 4.0, 8.0, 15.0, 30.0), registry=r)
        self.layout_shift = Histogram("tableside_agent_diner_cumulative_layout_shift",
                                      "Diners' cumulative layout shift for a page visit.",
                                      buckets=(.01, .05, .1, .25, .5, 1.0), registry=r)
        self.beacons = Counter("tableside_agent_diner_beacons_total", "Beacons from diners' phones by outcome.",
                               ["outcome"], registry=r)
        self._http_by_labels: dict[tuple[str, str, int], object] = {}

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request's duration. The labelled child is looked up once per route, method and status
        rather than for every request (labels() takes a lock and builds its key each time)."""
        key = (route, method, status)
        child = self._http_by_labels.get(key)
        if child is None:
            child = self.http.labels(route, method, str(status))
            if len(self._http_by_labels) < MAX_CACHED_LABELS:  # methods come from clients: stay bounded
                self._http_by_labels[key] = child
        child.observe(seconds)


METRICS = web.AppKey("metrics", AgentMetrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def timing_middleware(request: web.Request, handler):
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
        route = _route(request)
        if not route.endswith(STREAMS):
            request.app[METRICS].observe_http(route, request.method, status, time.perf_counter() - started)


def allowed(remote: str | None, allow_from: list[str]) -> bool:
    """The box itself, or a network the config names; nothing else (not even a malformed address)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return address.is_loopback or any(address in ipaddress.ip_network(n) for n in allow_from)


def _snapshot(db) -> tuple[dict, list[dict], int]:
    return queue_counts(db), list_held(db), outbox.waiting(db)


async def metrics(request: web.Request) -> web.Response:
    if not allowed(request.remote, request.app[STATE].config.metrics.allow_from):
        raise web.HTTPForbidden(text="metrics are for the box's own monitoring")
    state, m = request.app[STATE], request.app[METRICS]
    counts, held, waiting = await state.database.read(_snapshot)
    m.queue.clear()  # a status no job has any more must read 0, not its last value
    m.held.clear()
    for device in state.dispatcher.health:
        for status, n in counts.get(device, {}).items():
            m.queue.labels(device, status).set(n)
        m.held.labels(device).set(sum(1 for j in held if j["device"] == device))
    m.outbox.set(waiting)
    m.connected.set(1 if state.link.connected else 0)
    if state.link.last_ack_at is not None:
        m.ack_age.set(time.time() - state.link.last_ack_at.timestamp())
    return web.Response(body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
