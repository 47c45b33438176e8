"""POST /pos/webhook: the POS tells us an item sold out, came back, or that its menu changed.

The configured POS driver verifies the delivery (signature, timestamp, replay) and turns it into
updates; one that is not genuine changes nothing and gets 401.
"""

import logging

from aiohttp import web

from agent.devices.device import PosDevice
from agent.devices.jobs import POS_DEVICE
from agent.menu.pos_sync import apply_and_reload
from agent.state import STATE
from agent.web.errors import json_error
from agent.web.staff import answers as reply
from contract.openapi import answers
from drivers.pos.base import PosError

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.post("/pos/webhook")
@answers(200, reply.PosWebhook)
async def pos_webhook(request: web.Request) -> web.Response:
    state = request.app[STATE]
    device = state.dispatcher.devices.get(POS_DEVICE)
    if not isinstance(device, PosDevice):
        return json_error(404, "no_pos", "this agent has no POS configured")
    pos = device.pos
    body = await request.read()
    try:
        updates = pos.parse_webhook(request.headers, body)
    except NotImplementedError:
        return json_error(404, "no_webhooks", f"{pos.describe()} does not send webhooks")
    except PosError as exc:
        log.warning("POS webhook refused: %s", exc, extra={"remote": request.remote})
        return json_error(401, "bad_signature", str(exc))
    applied = await apply_and_reload(state, pos, updates)
    answer = {"applied": applied.changed, "ignored": applied.unknown, "menu_changed": applied.menu_changed}
    if applied.refetch_error:  # the updates stand; the POS's changed menu could not be fetched
        answer["menu_refetch_error"] = applied.refetch_error
    return web.json_response(answer)
