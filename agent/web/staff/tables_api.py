"""Tables and their QR codes from the staff side (JSON, and SVG/PNG downloads).

GET    /api/v1/staff/tables                     everyone on shift (tokens and links: managers, servers)
POST   /api/v1/staff/tables                     {"name", "area"?}          managers
PATCH  /api/v1/staff/tables/{id}                {"name"?, "area"?}         managers
DELETE /api/v1/staff/tables/{id}                only without open orders   managers
POST   /api/v1/staff/tables/{id}/rotate-token   the old QR stops working   managers
GET    /api/v1/staff/tables/{id}/qr.svg|qr.png  the menu QR code           managers, servers
"""

import asyncio
import re

from aiohttp import web

from agent.staff import qr
from agent.state import STATE
from agent.visits import tables
from agent.web.errors import refusal
from agent.web.json_body import json_object
from agent.web.staff import answers as reply
from agent.web.staff.guard import staff_user
from contract.openapi import answers

routes = web.RouteTableDef()

ALL = ("manager", "server", "kitchen")
FLOOR = ("manager", "server")
BASE = "/api/v1/staff/tables"


def _view(table: tables.Table, public_url: str, *, with_token: bool = True) -> dict:
    if not with_token:  # the kitchen needs table names, not the keys to order at them
        return {k: v for k, v in table.public().items() if k != "token"}
    return {**table.public(), "url": qr.table_url(public_url, table.token)}


async def _write(request: web.Request, fn, *args) -> tables.Table | None:
    state = request.app[STATE]
    try:
        table = await state.database.write(fn, *args)
    except tables.TableError as exc:
        extra = {"field": exc.field} if exc.field else {}
        raise refusal(exc.status, exc.code, exc.message, **extra) from None
    await state.reload_tables()  # diners' links follow at once: a rotated token stops working now
    return table


def _reply(request: web.Request, table: tables.Table, status: int = 200) -> web.Response:
    return web.json_response({"table": _view(table, request.app[STATE].config.public_url)}, status=status)


@routes.get(BASE)
@answers(200, reply.Tables)
async def list_tables(request: web.Request) -> web.Response:
    user = await staff_user(request, *ALL)
    state = request.app[STATE]
    found = await state.database.read(tables.all_tables)
    with_token = user.role in FLOOR
    return web.json_response({"tables": [_view(t, state.config.public_url, with_token=with_token) for t in found]})


@routes.post(BASE)
@answers(201, reply.OneTable)
async def add_table(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    body = await json_object(request)
    return _reply(request, await _write(request, tables.create_table, body.get("name"), body.get("area", "")), 201)


@routes.patch(BASE + "/{table_id}")
@answers(200, reply.OneTable)
async def change_table(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    body = await json_object(request)
    if not body or set(body) - {"name", "area"}:
        raise refusal(400, "bad_request", "send a new name and/or area")
    table = await _write(request, tables.update_table, request.match_info["table_id"], body.get("name"),
                         body.get("area"))
    return _reply(request, table)


@routes.delete(BASE + "/{table_id}")
@answers(200, reply.Deleted)
async def remove_table(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    await _write(request, tables.remove_table, request.match_info["table_id"])
    return web.json_response({"deleted": request.match_info["table_id"]})


@routes.post(BASE + "/{table_id}/rotate-token")
@answers(200, reply.OneTable)
async def rotate(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    return _reply(request, await _write(request, tables.rotate_token, request.match_info["table_id"]))


def _filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "table"


@routes.get(BASE + "/{table_id}/qr.{kind:svg|png}")
@answers(200, ("image/svg+xml", "image/png"))
async def table_qr(request: web.Request) -> web.Response:
    await staff_user(request, *FLOOR)
    state = request.app[STATE]
    table = await state.database.read(tables.by_id, request.match_info["table_id"])
    if table is None:
        raise refusal(404, "not_found", "there is no such table")
    url = qr.table_url(state.config.public_url, table.token)
    kind = request.match_info["kind"]
    headers = {"Content-Disposition": f'attachment; filename="qr-{_filename(table.name)}.{kind}"',
               "Cache-Control": "no-store"}
    if kind == "svg":
        text = await asyncio.to_thread(qr.svg, url)
        return web.Response(text=text, content_type="image/svg+xml", headers=headers)
    return web.Response(body=await asyncio.to_thread(qr.png, url), content_type="image/png", headers=headers)
