"""The menu from the staff side (JSON): sold out and back for everyone on shift, the editor, and
import/export (menu document JSON, items CSV, the POS's catalogue) for managers.

After every change the served menu is reloaded, which tells diners' menus to refresh.
"""

import json
from collections.abc import Callable

import msgspec
from aiohttp import web

from agent.devices.jobs import POS_DEVICE
from agent.menu import csv_format, editor
from agent.menu.catalog import MenuDoc, MenuError, parse_menu
from agent.menu.pos_sync import sync_from_pos
from agent.state import STATE
from agent.web.errors import refusal
from agent.web.json_body import check_depth, json_bytes, json_object
from agent.web.staff import answers as reply
from agent.web.staff.guard import staff_user
from contract.openapi import answers

routes = web.RouteTableDef()

ALL = ("manager", "server", "kitchen")
MAX_IMPORT = 2 * 1024 * 1024  # a whole menu with translations is well under this
BASE = "/api/v1/staff/menu"


def _refused(exc: editor.EditError) -> web.HTTPException:
    extra = {"field": exc.field} if exc.field else {}
    return refusal(exc.status, exc.code, exc.message, **extra)


async def _write(request: web.Request, fn: Callable, *args):
    """Run one editor change in a write transaction, then serve the new menu."""
    state = request.app[STATE]
    try:
        result = await state.database.write(fn, *args)
    except editor.EditError as exc:
        raise _refused(exc) from None
    await state.reload_menu()
    return result


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body up to `limit` bytes (imports may be larger than the app's usual request limit)."""
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise refusal(413, "too_large", f"the file is larger than {limit // 1024} KB")
    return body


def _version(request: web.Request) -> int | None:
    text = request.query.get("version")
    try:
        return int(text) if text is not None else None
    except ValueError:
        raise refusal(400, "invalid", "version is a whole number", field="version") from None


async def _fields(request: web.Request, fields_type: type):
    body = await json_bytes(request)
    try:
        return editor.decode(fields_type, body)
    except editor.EditError as exc:
        raise _refused(exc) from None


# -- reading and sold out -------------------------------------------------------------------------


@routes.get(BASE)
@answers(200, reply.EditorMenu)
async def staff_menu(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    return web.json_response(await request.app[STATE].database.read(editor.editor_menu))


async def _available(request: web.Request) -> bool:
    body = await json_object(request)
    if not isinstance(body.get("available"), bool):
        raise refusal(400, "invalid", 'send {"available": true} or {"available": false}', field="available")
    return body["available"]


@routes.post(BASE + "/items/{item_id}/availability")
@answers(200, reply.OneItem)
async def item_availability(request: web.Request) -> web.Response:
    await staff_user(request, *ALL, change=True)
    item = await _write(request, editor.set_item_available, request.match_info["item_id"],
                        await _available(request))
    return web.json_response({"item": item})


@routes.post(BASE + "/modifiers/{modifier_id}/availability")
@answers(200, reply.OneModifier)
async def modifier_availability(request: web.Request) -> web.Response:
    await staff_user(request, *ALL, change=True)
    modifier = await _write(request, editor.set_modifier_available, request.match_info["modifier_id"],
                            await _available(request))
    return web.json_response({"modifier": modifier})


# -- the editor (managers) ----------------------------------------------------------------------------


@routes.post(BASE + "/categories")
@answers(201, reply.OneCategory)
async def add_category(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.CategoryFields)
    return web.json_response({"category": await _write(request, editor.save_category, fields)}, status=201)


@routes.put(BASE + "/categories/{category_id}")
@answers(200, reply.OneCategory)
async def edit_category(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.CategoryFields)
    category = await _write(request, editor.save_category, fields, request.match_info["category_id"])
    return web.json_response({"category": category})


@routes.delete(BASE + "/categories/{category_id}")
@answers(200, reply.Deleted)
async def remove_category(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    await _write(request, editor.delete_category, request.match_info["category_id"], _version(request))
    return web.json_response({"deleted": request.match_info["category_id"]})


@routes.post(BASE + "/items")
@answers(201, reply.OneItem)
async def add_item(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.ItemFields)
    return web.json_response({"item": await _write(request, editor.save_item, fields)}, status=201)


@routes.put(BASE + "/items/{item_id}")
@answers(200, reply.OneItem)
async def edit_item(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.ItemFields)
    return web.json_response({"item": await _write(request, editor.save_item, fields,
                                                   request.match_info["item_id"])})


@routes.delete(BASE + "/items/{item_id}")
@answers(200, reply.Deleted)
async def remove_item(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    await _write(request, editor.delete_item, request.match_info["item_id"], _version(request))
    return web.json_response({"deleted": request.match_info["item_id"]})


@routes.post(BASE + "/modifier-groups")
@answers(201, reply.OneGroup)
async def add_group(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.GroupFields)
    return web.json_response({"group": await _write(request, editor.save_group, fields)}, status=201)


@routes.put(BASE + "/modifier-groups/{group_id}")
@answers(200, reply.OneGroup)
async def edit_group(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.GroupFields)
    return web.json_response({"group": await _write(request, editor.save_group, fields,
                                                    request.match_info["group_id"])})


@routes.delete(BASE + "/modifier-groups/{group_id}")
@answers(200, reply.Deleted)
async def remove_group(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    await _write(request, editor.delete_group, request.match_info["group_id"], _version(request))
    return web.json_response({"deleted": request.match_info["group_id"]})


@routes.post(BASE + "/modifier-groups/{group_id}/modifiers")
@answers(201, reply.OneModifier)
async def add_modifier(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.ModifierFields)
    modifier = await _write(request, editor.save_modifier, request.match_info["group_id"], fields)
    return web.json_response({"modifier": modifier}, status=201)


@routes.put(BASE + "/modifier-groups/{group_id}/modifiers/{modifier_id}")
@answers(200, reply.OneModifier)
async def edit_modifier(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    fields = await _fields(request, editor.ModifierFields)
    modifier = await _write(request, editor.save_modifier, request.match_info["group_id"], fields,
                            request.match_info["modifier_id"])
    return web.json_response({"modifier": modifier})


@routes.delete(BASE + "/modifier-groups/{group_id}/modifiers/{modifier_id}")
@answers(200, reply.Deleted)
async def remove_modifier(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    await _write(request, editor.delete_modifier, request.match_info["group_id"],
                 request.match_info["modifier_id"], _version(request))
    return web.json_response({"deleted": request.match_info["modifier_id"]})


# -- import and export ---------------------------------------------------------------------------------


def _download(body: bytes | str, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body.encode() if isinstance(body, str) else body, content_type=content_type,
                        charset="utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                  "Cache-Control": "no-store"})


@routes.get(BASE + "/export.json")
@answers(200, MenuDoc, why="the menu document, to import again")
async def export_json(request: web.Request) -> web.Response:
    await staff_user(request, "manager")
    doc = await request.app[STATE].database.read(editor.export_menu)
    return _download(json.dumps(msgspec.to_builtins(doc), ensure_ascii=False, indent=2), "application/json",
                     "menu.json")


@routes.post(BASE + "/import.json")
@answers(200, reply.MenuImported)
async def import_json(request: web.Request) -> web.Response:
    """Replace the whole menu with a menu document (checked completely first)."""
    await staff_user(request, "manager", change=True)
    try:
        doc = parse_menu(check_depth(await _read_body(request, MAX_IMPORT)))
    except MenuError as exc:
        raise refusal(400, "invalid_menu", f"{exc}; nothing was imported") from None
    return web.json_response({"imported": await _write(request, editor.replace_menu, doc)})


@routes.get(BASE + "/items.csv")
@answers(200, "text/csv")
async def export_csv(request: web.Request) -> web.Response:
    await staff_user(request, "manager")
    text = await request.app[STATE].database.read(csv_format.export_items)
    return _download("\ufeff" + text, "text/csv", "menu-items.csv")  # the BOM makes Excel read UTF-8


@routes.post(BASE + "/items.csv")
@answers(200, reply.CsvImported)
async def import_csv(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    try:
        text = (await _read_body(request, MAX_IMPORT)).decode("utf-8")
    except UnicodeDecodeError:
        raise refusal(400, "invalid_csv", "the CSV must be UTF-8 text") from None
    return web.json_response({"imported": await _write(request, csv_format.import_items, text)})


@routes.post(BASE + "/import-from-pos")
@answers(200, reply.PosImported)
async def import_from_pos(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    state = request.app[STATE]
    device = state.dispatcher.devices.get(POS_DEVICE)
    if device is None:
        raise refusal(409, "no_pos", "no POS is configured on this agent")
    try:
        result = await sync_from_pos(state, device.pos)
    except Exception as exc:  # the POS is down or refused: say so, our menu is unchanged
        raise refusal(502, "pos_failed", f"the POS did not give its menu: {exc}") from None
    return web.json_response({"imported": {"created": result.created, "updated": result.updated,
                                           "retired": result.retired, "skipped": result.skipped}})
