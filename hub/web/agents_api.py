"""The operator's API for one agent (bearer operator token): what it reported about itself
(devices, bills) and what to push to it over the link (the menu, settings).

A push is queued in the hub's outbox to the agent (hub/store/downlink.py) and answered 202 with
the message's id and seq: the agent gets it when it is online, however long that takes, and
applies it once. The agent does the full validation; the hub refuses only what is plainly not
what the agent expects, so a typo fails here and not silently at the restaurant.
"""

import asyncio
import logging
from typing import Any

import msgspec
from aiohttp import web

from contract.envelope import now_iso
from contract.messages import MenuPublished, SettingsPushed
from contract.openapi import answers
from hub.appkeys import LINK, STORE
from hub.link.roster import refused_list
from hub.store.agent_state import BILL_STATUSES
from hub.web.answers import AgentBills, AgentDevices, Queued, RefusedSenders
from hub.web.auth import operator_only
from hub.web.errors import ApiError
from hub.web.json_body import json_kind, read_json_object
from hub.web.operator_api import json

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a big menu with its translations fits many times over
DEFAULT_BILLS, MAX_BILLS = 200, 1000
# What each setting must be, in words; the check itself is SettingsPushed's (contract/messages.py).
SETTINGS = {
    "close_when_paid": "true or false",
    "hold_minutes": "an integer from 1 to 120",
    "wifi_ssid": "a string of at most 32 characters",
    "wifi_password": "a string of at most 63 characters",
}


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


async def _known_agent(request: web.Request) -> str:
    agent_id = request.match_info["agent_id"]
    if await request.app[STORE].get_agent(agent_id) is None:
        raise ApiError(404, "not_found", f"no agent {agent_id!r} (an agent is known once it has connected)")
    return agent_id


# --- what the agent reported ---

@operator_only
@answers(200, AgentDevices)
async def list_devices(request: web.Request) -> web.Response:
    agent_id = await _known_agent(request)
    return json({"agent_id": agent_id, "devices": await request.app[STORE].agent_devices(agent_id)})


@operator_only
@answers(200, AgentBills)
async def list_bills(request: web.Request) -> web.Response:
    """?status=open|settled|closed (optional), ?limit=1..1000 (default 200); most recent first."""
    agent_id = await _known_agent(request)
    status = request.query.get("status")
    if status is not None and status not in BILL_STATUSES:
        raise _bad(f"status: expected one of {', '.join(BILL_STATUSES)}, got {status[:40]!r}")
    limit = _limit(request.query.get("limit"))
    return json({"agent_id": agent_id, "bills": await request.app[STORE].agent_bills(agent_id, status, limit)})


@operator_only
@answers(200, RefusedSenders)
async def list_refused_senders(request: web.Request) -> web.Response:
    """Agent ids whose link messages the hub refused (never enrolled, or revoked): who knocked, how
    often, when last; most recent first, ?limit=1..1000."""
    limit = _limit(request.query.get("limit"))

    def read() -> list[dict[str, Any]]:
        with request.app[STORE].engine.connect() as conn:
            return refused_list(conn, limit)
    rows = await asyncio.to_thread(read)
    return json({"refused_senders": [{**row, "first_at": row["first_at"].isoformat(),
                                      "last_at": row["last_at"].isoformat()} for row in rows]})


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_BILLS
    if not text.isdigit() or not 1 <= int(text) <= MAX_BILLS:
        raise _bad(f"limit: expected an integer from 1 to {MAX_BILLS}, got {text[:40]!r}")
    return int(text)


# --- what to push to the agent ---

@operator_only
@answers(202, Queued, "queued for the agent: it gets it when it is online")
async def publish_menu(request: web.Request) -> web.Response:
    """Body: the agent's menu document ({"restaurant": {...}, "categories": [...], ...})."""
    agent_id = await _known_agent(request)
    menu = await read_json_object(request, "the menu document", MAX_BODY_BYTES)
    check_menu(menu)
    return await _push(request, agent_id, MenuPublished(menu=menu, published_at=now_iso()))


@operator_only
@answers(202, Queued, "queued for the agent: it gets it when it is online")
async def push_settings(request: web.Request) -> web.Response:
    """Body: some of close_when_paid, hold_minutes, wifi_ssid, wifi_password; the rest stay as
    the agent has them."""
    agent_id = await _known_agent(request)
    settings = parse_settings(await read_json_object(request, "an object of settings", MAX_BODY_BYTES))
    return await _push(request, agent_id, settings)


async def _push(request: web.Request, agent_id: str, message: msgspec.Struct) -> web.Response:
    queued = await request.app[STORE].enqueue_down_message(agent_id, message)
    link = request.app.get(LINK)
    if link is not None:
        link.wake(agent_id)  # committed: send it now if the agent is there
    log.info("%s queued agent=%s id=%s seq=%d", queued.type, agent_id, queued.id, queued.seq)
    return json({"id": queued.id, "seq": queued.seq, "type": queued.type}, status=202)


def check_menu(menu: dict[str, Any]) -> None:
    """The shape the agent's menu import needs first; the agent checks the rest when it applies it."""
    for key, kind, want in (("restaurant", dict, "an object"), ("categories", list, "a list")):
        if key not in menu:
            raise _bad(f"{key}: required, {want} (the body is the agent's menu document)")
        if not isinstance(menu[key], kind):
            raise _bad(f"{key}: must be {want}, got {json_kind(menu[key])}")


def parse_settings(body: dict[str, Any]) -> SettingsPushed:
    """The SettingsPushed to send, stamped now; 400 naming the first field that is wrong."""
    unknown = sorted(set(body) - set(SETTINGS))
    if unknown:
        raise _bad(f"{unknown[0]}: unknown setting (expected some of {', '.join(SETTINGS)})")
    try:
        settings = msgspec.convert({**body, "pushed_at": now_iso()}, SettingsPushed)
    except msgspec.ValidationError as exc:
        field = str(exc).rpartition("$.")[2].rstrip("`")
        if field not in SETTINGS:  # not expected: the contract changed; its own words then
            raise _bad(str(exc)) from None
        # never the value itself: it may be the Wi-Fi password
        raise _bad(f"{field}: must be {SETTINGS[field]} (or null to keep the agent's own)") from None
    if all(getattr(settings, name) is None for name in SETTINGS):
        raise _bad(f"no setting given: send at least one of {', '.join(SETTINGS)}")
    return settings


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/refused-senders", list_refused_senders)
    app.router.add_get("/api/v1/agents/{agent_id}/devices", list_devices)
    app.router.add_get("/api/v1/agents/{agent_id}/bills", list_bills)
    app.router.add_put("/api/v1/agents/{agent_id}/menu", publish_menu)
    app.router.add_put("/api/v1/agents/{agent_id}/settings", push_settings)
