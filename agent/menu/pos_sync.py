"""Keeping our menu in step with the POS: importing its catalogue and applying its updates.

The menu stays ours. An item the POS knows is mapped (menu_pos_ids) from the POS's id onto our
own stable item id, so orders, translations and links keep working across imports. The POS owns
an imported item's name, price and availability, and the modifiers it lists for it; we own the
rest (description, allergens, tags, stations, course, translations, category, position). Items the
POS never listed are never touched, and nothing is ever deleted: orders refer to items, so an item
the POS dropped is only marked unavailable.

A POS item's modifiers become one group of its own, "<item> options" (choose 0..all), since a POS
rarely says more about its modifier lists than which modifiers an item offers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import sqlite_utils

from agent.store.database import Database
from contract.money import MAX_MINOR
from drivers.pos.base import Pos, PosError, PosItem, PosMenu, PosUpdate

log = logging.getLogger(__name__)

_ID_MAX = 64
DEFAULT_CATEGORY = "Other"
DEFAULT_STATIONS = ["kitchen"]
MAX_BACKOFF = 300.0  # seconds between polls of a POS that keeps failing


class MenuServer(Protocol):
    """What a sync needs of the running agent (agent/state.py's AgentState): its database, and a way
    to start serving the menu just written. A protocol, so the menu never imports the app above it."""

    database: Database

    async def reload_menu(self) -> None: ...


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    retired: int = 0
    skipped: list[str] = field(default_factory=list)  # POS items we could not take, and why


@dataclass
class Applied:
    changed: int = 0  # items and modifiers whose availability changed
    unknown: int = 0  # updates about a pos_id we have not mapped: ignored
    menu_changed: bool = False  # the POS says its menu changed: the caller should refetch it
    refetch_error: str = ""  # set by apply_and_reload when that refetch failed


def slugify(text: str, fallback: str = "item") -> str:
    """A menu id (^[a-z0-9][a-z0-9-]{0,63}$) from a name: "Crème brûlée" -> "creme-brulee"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_ID_MAX - 4].rstrip("-") or fallback  # room for a "-NNN" suffix


def _unique_id(db: sqlite_utils.Database, table: str, base: str) -> str:
    taken = {row[0] for row in db.execute(f"SELECT id FROM {table} WHERE id = ? OR id LIKE ?", [base, base + "-%"])}
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _next_position(db: sqlite_utils.Database, table: str, where: str = "1", args: tuple = ()) -> int:
    return db.execute(f"SELECT COALESCE(MAX(position) + 1, 0) FROM {table} WHERE {where}", list(args)).fetchone()[0]


def _category_for(db: sqlite_utils.Database, pos_category: str,
                  category_id_for: Callable[[str], str | None] | None) -> str:
    if category_id_for is not None:
        chosen = category_id_for(pos_category)
        if chosen and db.execute("SELECT 1 FROM menu_categories WHERE id = ?", [chosen]).fetchone():
            return chosen
    name = pos_category.strip() or DEFAULT_CATEGORY
    slug = slugify(name, "other")
    row = db.execute("SELECT id FROM menu_categories WHERE id = ? OR lower(name) = lower(?) ORDER BY id = ? DESC",
                     [slug, name, slug]).fetchone()
    if row:
        return row[0]
    category_id = _unique_id(db, "menu_categories", slug)
    db["menu_categories"].insert({"id": category_id, "position": _next_position(db, "menu_categories"),
                                  "name": name, "translations": "{}"})
    return category_id


def _problem(item: PosItem) -> str | None:
    if not item.pos_id:
        return "it has no POS id"
    if not item.name.strip():
        return "it has no name"
    if not 0 <= item.price_minor <= MAX_MINOR:
        return f"its price {item.price_minor} is negative or too large"
    if any(abs(m.price_minor) > MAX_MINOR for m in item.modifiers):
        return "a modifier's price is too large"
    return None


def _sync_modifiers(db: sqlite_utils.Database, item: PosItem, item_id: str, group_id: str | None) -> None:
    """Make the item's "<item> options" group list exactly the POS's modifiers (others: unavailable)."""
    mapped = {r["pos_id"]: r["modifier_id"] for r in db.query(
        "SELECT pos_id, modifier_id FROM menu_pos_modifier_ids WHERE item_pos_id = ?", [item.pos_id])}
    modifiers = list({m.pos_id: m for m in item.modifiers if m.pos_id and m.name.strip()}.values())
    if not modifiers and group_id is None:
        return
    if group_id is None:
        group_id = _unique_id(db, "menu_modifier_groups", slugify(f"{item_id}-options"))
        db["menu_modifier_groups"].insert({
            "id": group_id, "position": _next_position(db, "menu_modifier_groups"),
            "name": f"{item.name} options", "min_choices": 0, "max_choices": max(1, len(modifiers)),
            "translations": "{}"})
        db.execute("UPDATE menu_pos_ids SET modifier_group_id = ? WHERE pos_id = ?", [group_id, item.pos_id])
        groups = json.loads(db.execute("SELECT modifier_groups FROM menu_items WHERE id = ?", [item_id]).fetchone()[0])
        db.execute("UPDATE menu_items SET version = version + 1, modifier_groups = ? WHERE id = ?", [json.dumps([*groups, group_id]), item_id])
    else:
        db.execute("UPDATE menu_modifier_groups SET name = ?, min_choices = 0, max_choices = ? WHERE id = ?",
                   [f"{item.name} options", max(1, len(modifiers)), group_id])
    for position, mod in enumerate(modifiers):
        if mod.pos_id in mapped:
            db.execute("UPDATE menu_modifiers SET version = version + 1, name = ?, price_minor = ?, available = 1, position = ? WHERE id = ?",
                       [mod.name, mod.price_minor, position, mapped[mod.pos_id]])
            continue
        modifier_id = _unique_id(db, "menu_modifiers", slugify(f"{item_id}-{mod.name}"))
        db["menu_modifiers"].insert({"id": modifier_id, "group_id": group_id, "position": position,
                                     "name": mod.name, "price_minor": mod.price_minor, "available": 1,
                                     "translations": "{}"})
        db["menu_pos_modifier_ids"].insert({"item_pos_id": item.pos_id, "pos_id": mod.pos_id,
                                            "modifier_id": modifier_id})
    offered = {m.pos_id for m in modifiers}
    gone = [mid for pid, mid in mapped.items() if pid not in offered]
    if gone:
        db.execute(f"UPDATE menu_modifiers SET version = version + 1, version = version + 1, available = 0 WHERE id IN ({','.join('?' * len(gone))})", gone)


def import_pos_menu(db: sqlite_utils.Database, pos_menu: PosMenu,
                    category_id_for: Callable[[str], str | None] | None = None) -> ImportResult:
    """Reconcile our menu with the POS's catalogue (inside the caller's writer transaction).

    category_id_for(pos_category) may name one of our categories for a new item; by default the
    category is matched by id (slug) or name, and created when there is none.
    """
    result = ImportResult()
    seen: set[str] = set()
    for item in pos_menu.items:
        if (problem := _problem(item)) is not None:
            result.skipped.append(f"{item.name or '?'} ({item.pos_id or 'no id'}): {problem}")
            continue
        if item.pos_id in seen:
            result.skipped.append(f"{item.name} ({item.pos_id}): listed twice by the POS, first one kept")
            continue
        seen.add(item.pos_id)
        row = db.execute("""SELECT m.item_id, m.modifier_group_id, i.name, i.price_minor, i.available
                            FROM menu_pos_ids m JOIN menu_items i ON i.id = m.item_id
                            WHERE m.pos_id = ?""", [item.pos_id]).fetchone()
        if row is not None:
            item_id, group_id, name, price_minor, available = row
            if (name, price_minor, bool(available)) != (item.name, item.price_minor, item.available):
                db.execute("UPDATE menu_items SET version = version + 1, name = ?, price_minor = ?, available = ? WHERE id = ?",
                           [item.name, item.price_minor, int(item.available), item_id])
                result.updated += 1
        else:
            # a mapping whose item is gone (should not happen: we never delete) is replaced
            db.execute("DELETE FROM menu_pos_ids WHERE pos_id = ?", [item.pos_id])
            category_id = _category_for(db, item.category, category_id_for)
            item_id, group_id = _unique_id(db, "menu_items", slugify(item.name)), None
            db["menu_items"].insert({
                "id": item_id, "category_id": category_id,
                "position": _next_position(db, "menu_items", "category_id = ?", (category_id,)),
                "name": item.name, "description": "", "price_minor": item.price_minor,
                "available": int(item.available), "allergens": "[]", "tags": "[]",
                "stations": json.dumps(DEFAULT_STATIONS), "course": "", "modifier_groups": "[]",
                "translations": "{}"})
            db["menu_pos_ids"].insert({"pos_id": item.pos_id, "item_id": item_id, "modifier_group_id": None})
            result.created += 1
        _sync_modifiers(db, item, item_id, group_id)
    for pos_id, item_id in db.execute("SELECT pos_id, item_id FROM menu_pos_ids").fetchall():
        if pos_id not in seen:
            cur = db.execute("UPDATE menu_items SET version = version + 1, available = 0 WHERE id = ? AND available = 1", [item_id])
            result.retired += cur.rowcount
    return result


def apply_updates(db: sqlite_utils.Database, updates: list[PosUpdate]) -> Applied:
    """Apply sold-out / back-in-stock updates to mapped items and modifiers (one transaction).

    check_status updates are not the menu's business and are skipped here.
    """
    applied = Applied()
    for update in updates:
        if update.kind == "menu_changed":
            applied.menu_changed = True
            continue
        if update.kind not in ("sold_out", "back_in_stock"):
            continue
        available = int(update.kind == "back_in_stock")
        item = db.execute("SELECT item_id FROM menu_pos_ids WHERE pos_id = ?", [update.pos_id]).fetchone()
        modifier_ids = [r[0] for r in db.execute(
            "SELECT modifier_id FROM menu_pos_modifier_ids WHERE pos_id = ?", [update.pos_id])]
        if item is None and not modifier_ids:
            applied.unknown += 1
            continue
        if item is not None:
            applied.changed += db.execute("UPDATE menu_items SET version = version + 1, available = ? WHERE id = ? AND available != ?",
                                          [available, item[0], available]).rowcount
        for modifier_id in modifier_ids:
            applied.changed += db.execute("UPDATE menu_modifiers SET version = version + 1, available = ? WHERE id = ? AND available != ?",
                                          [available, modifier_id, available]).rowcount
    if applied.unknown:
        log.info("POS updates about items we do not know were ignored", extra={"unknown": applied.unknown})
    return applied


async def sync_from_pos(state: MenuServer, pos: Pos,
                        category_id_for: Callable[[str], str | None] | None = None) -> ImportResult:
    """Fetch the POS's catalogue, import it, and serve the new menu."""
    pos_menu = await pos.fetch_menu()
    result = await state.database.write(import_pos_menu, pos_menu, category_id_for)
    await state.reload_menu()
    log.info("menu synced from the POS", extra={"pos": pos.describe(), "items_created": result.created,
                                                  "updated": result.updated, "retired": result.retired,
                                                  "skipped": result.skipped})
    return result


async def apply_and_reload(state: MenuServer, pos: Pos, updates: list[PosUpdate]) -> Applied:
    """Apply updates in one write and serve the result; refetch the menu if the POS says it changed.

    A failed refetch does not undo the updates: it is logged and reported in refetch_error.
    """
    applied = await state.database.write(apply_updates, updates) if updates else Applied()
    if applied.menu_changed:
        try:
            await sync_from_pos(state, pos)
            return applied
        except Exception as exc:
            log.warning("refetching the POS menu failed: %s", exc, extra={"pos": pos.describe()})
            applied.refetch_error = str(exc) or type(exc).__name__
    if applied.changed or applied.refetch_error:
        await state.reload_menu()
    return applied


async def poll_pos_updates(state: MenuServer, pos: Pos, interval: float) -> None:
    """Poll the POS for updates forever (a background task; cancel it to stop).

    A POS that cannot be polled (the driver does not support it) ends the loop with one log line;
    any other failure is logged and retried with back-off, never ending the loop.
    """
    cursor: str | None = None  # None: a full sync first, so a fresh agent starts right
    failures = 0
    needs_refetch = False  # the POS said its menu changed and we have not managed to refetch it yet
    while True:
        try:
            if needs_refetch:
                await sync_from_pos(state, pos)
                needs_refetch = False
            updates, next_cursor = await pos.poll_updates(cursor)
            applied = await apply_and_reload(state, pos, updates)
            cursor = next_cursor  # only once applied: a failure above polls the same updates again
            needs_refetch = bool(applied.refetch_error)
            if failures:
                log.info("POS polling recovered", extra={"pos": pos.describe(), "failures": failures})
            failures = 0
            if applied.changed or applied.menu_changed:
                log.info("POS updates applied", extra={"changed": applied.changed,
                                                       "menu_changed": applied.menu_changed})
        except NotImplementedError:
            log.info("the POS cannot be polled for updates; relying on its webhooks", extra={"pos": pos.describe()})
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            delay = min(interval * 2 ** min(failures, 10), max(MAX_BACKOFF, interval))
            if isinstance(exc, PosError):  # PosUnavailable too: expected, no traceback
                log.warning("POS polling failed: %s; retrying in %.0fs", exc, delay,
                            extra={"pos": pos.describe(), "failures": failures})
            else:
                log.exception("POS polling failed unexpectedly; retrying in %.0fs", delay,
                              extra={"pos": pos.describe(), "failures": failures})
            await asyncio.sleep(delay)
            continue
        await asyncio.sleep(interval)
