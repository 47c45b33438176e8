"""What diners' phones measured of their own visit (real-user monitoring): Largest Contentful Paint,
Interaction to Next Paint, Cumulative Layout Shift, the time to the menu's first paint and from
tapping send to the order confirmed. The page sends them in one small beacon when it is hidden
(agent/static/diner/vitals.js); here they become histograms beside the server's own timings
(agent/web/metrics.py), so a restaurant on slow Wi-Fi shows on the operator's dashboard.

Nothing personal: no table, no token, no address is kept, only numbers in fixed buckets, so a
flood of fake beacons cannot grow memory; each client may send a few a minute (the rest are
dropped with a 429), and a beacon never touches the database or the order path.
"""

import time

import msgspec
from aiohttp import web

from agent.web.metrics import METRICS
from agent.web.rate_limits import Buckets
from contract.openapi import answers

routes = web.RouteTableDef()

MAX_BODY = 2048
MAX_VITALS = 8  # a page visit has five, plus an order or two confirmed
SECONDS = {"lcp", "inp", "menu_paint", "order_confirmed"}  # reported in milliseconds
MAX_MS = 120_000.0  # longer than two minutes is a phone that slept, not a measurement
BEACONS_PER_MINUTE, BEACON_BURST = 6.0, 6


class Vital(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    value: float


class Beacon(msgspec.Struct, forbid_unknown_fields=True):
    vitals: list[Vital]


BEACON = msgspec.json.Decoder(Beacon)
LIMIT = web.AppKey("vital_beacons", Buckets)


def setup(app: web.Application) -> None:
    app[LIMIT] = Buckets(BEACONS_PER_MINUTE, BEACON_BURST)
    app.add_routes(routes)


@routes.post("/api/v1/vitals")
@answers(204)
async def vitals(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    if request.content_length is not None and request.content_length > MAX_BODY:
        m.beacons.labels("refused").inc()
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)

    if request.app[LIMIT].take(request.remote or "unknown", time.monotonic()) is not None:
        m.beacons.labels("limited").inc()
        raise web.HTTPTooManyRequests(headers={"Retry-After": "60"})
    try:
        beacon = BEACON.decode(await request.content.read(MAX_BODY + 1))
    except (msgspec.ValidationError, msgspec.DecodeError):
        m.beacons.labels("refused").inc()
        raise web.HTTPBadRequest(reason="a beacon is {\"vitals\": [{\"name\": ..., \"value\": ...}]}") from None
    for vital in beacon.vitals[:MAX_VITALS]:
        if vital.name in SECONDS and 0 <= vital.value <= MAX_MS:
            m.vital_seconds.labels(vital.name).observe(vital.value / 1000)
        elif vital.name == "cls" and 0 <= vital.value <= 10:
            m.layout_shift.observe(vital.value)
    m.beacons.labels("accepted").inc()
    return web.Response(status=204)
