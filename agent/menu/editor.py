"""Editing the stored menu from the staff dashboard: categories, items, modifier groups and
modifiers, sold out and back, and whole-menu import/export as a menu document (agent/menu.py).

Every function taking `db` runs in one writer transaction (Database.write): a refused change
changes nothing. Each row carries a `version`; an edit or delete that names an older version than
the stored one is refused with 409 (someone else changed it meanwhile), so a stale form never
overwrites a newer change. The caller reloads the served menu afterwards (state.reload_menu()).
"""

import json
import re
import unicodedata
from typing import Annotated, Any

import msgspec
import sqlite_utils

from agent.menu.catalog import (
    CategoryDoc,
    Id,
    ItemDoc,
    MenuDoc,
    Minor,
    ModifierDoc,
    ModifierGroupDoc,
    PhotoDoc,
    RestaurantDoc,
    SignedMinor,
    Translation,
    Translations,
    import_menu,
)
from contract.money import exponent

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100)]


class EditError(ValueError):
    """A refused edit: status, code, a message for the person, and the field at fault if one is."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


# -- what the editor sends ----------------------------------------------------------------------


class CategoryFields(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    translations: Translations = {}
    id: Id | None = None  # on create; made from the name when left out
    version: int | None = None  # on edit: the version the form was loaded with


class ItemFields(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    category_id: Id
    price_minor: Minor
    description: Text = ""
    allergens: list[Label] = []
    tags: list[Label] = []
    stations: list[Label] = msgspec.field(default_factory=lambda: ["kitchen"])
    course: Annotated[str, msgspec.Meta(max_length=40)] = ""
    modifier_groups: list[Id] = []
    translations: Translations = {}
    available: bool = True
    id: Id | None = None
    version: int | None = None


class GroupFields(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    min: Count
    max: Annotated[int, msgspec.Meta(ge=1, le=100)]
    translations: Translations = {}
    id: Id | None = None
    version: int | None = None


class ModifierFields(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    price_minor: SignedMinor = 0
    available: bool = True
    translations: Translations = {}
    id: Id | None = None
    version: int | None = None


def decode(fields_type: type, body: bytes) -> Any:
    """The request body as fields_type, or EditError 400 naming the field that is wrong."""
    try:
        fields = msgspec.json.decode(body, type=fields_type)
    except msgspec.ValidationError as exc:
        path = re.search(r"at `\$\.?([^`\[]*)", str(exc))
        raise EditError(400, "invalid", str(exc), path.group(1) if path else None) from None
    except msgspec.DecodeError:
        raise EditError(400, "bad_request", "the body is not valid JSON") from None
    if not fields.name.strip():
        raise EditError(400, "invalid", "a name is required", "name")
    fields.name = fields.name.strip()
    return fields


# -- reading --------------------------------------------------------------------------------------


def _tr(translations: Translations) -> str:
    return json.dumps({k: msgspec.to_builtins(v) for k, v in translations.items()}, ensure_ascii=False)


def _item(r: dict) -> dict:
    return {"id": r["id"], "category_id": r["category_id"], "name": r["name"], "description": r["description"],
            "price_minor": r["price_minor"], "available": bool(r["available"]),
            "allergens": json.loads(r["allergens"]), "tags": json.loads(r["tags"]),
            "stations": json.loads(r["stations"]), "course": r["course"],
            "modifier_groups": json.loads(r["modifier_groups"]), "translations": json.loads(r["translations"]),
            "photo": json.loads(r["photo"]) if r.get("photo") else None, "version": r["version"]}


def _modifier(r: dict) -> dict:
    return {"id": r["id"], "group_id": r["group_id"], "name": r["name"], "price_minor": r["price_minor"],
            "available": bool(r["available"]), "translations": json.loads(r["translations"]), "version": r["version"]}


def editor_menu(db: sqlite_utils.Database) -> dict:
    """Everything the editor and the sold-out screen show, with each row's version."""
    row = db.execute("SELECT value FROM settings WHERE key = 'restaurant'").fetchone()
    items: dict[str, list] = {}
    for r in db.query("SELECT * FROM menu_items ORDER BY position"):
        items.setdefault(r["category_id"], []).append(_item(r))
    modifiers: dict[str, list] = {}
    for r in db.query("SELECT * FROM menu_modifiers ORDER BY position"):
        modifiers.setdefault(r["group_id"], []).append(_modifier(r))
    restaurant = json.loads(row[0]) if row else None
    return {
        "restaurant": restaurant,
        "exponent": exponent(restaurant["currency"]) if restaurant else 2,  # for showing prices
        "categories": [{"id": r["id"], "name": r["name"], "translations": json.loads(r["translations"]),
                        "version": r["version"], "items": items.get(r["id"], [])}
                       for r in db.query("SELECT * FROM menu_categories ORDER BY position")],
        "modifier_groups": [{"id": r["id"], "name": r["name"], "min": r["min_choices"], "max": r["max_choices"],
                             "translations": json.loads(r["translations"]), "version": r["version"],
                             "modifiers": modifiers.get(r["id"], [])}
                            for r in db.query("SELECT * FROM menu_modifier_groups ORDER BY position")],
    }


def _get(db: sqlite_utils.Database, table: str, row_id: str, what: str) -> dict:
    rows = list(db.query(f"SELECT * FROM {table} WHERE id = ?", [row_id]))
    if not rows:
        raise EditError(404, "not_found", f"there is no {what} {row_id!r}")
    return rows[0]


def _check_version(row: dict, version: int | None, what: str) -> None:
    if version is None:
        raise EditError(400, "invalid", f"send the {what}'s version (from when the form was loaded)", "version")
    if version != row["version"]:
        raise EditError(409, "stale", f"Someone else changed this {what} ({row['name']}) after you opened it. "
                        "Reload it, then make your change again; nothing was saved.")


# -- sold out ------------------------------------------------------------------------------------


def set_item_available(db: sqlite_utils.Database, item_id: str, available: bool) -> dict:
    _get(db, "menu_items", item_id, "item")
    db.execute("UPDATE menu_items SET available = ?, version = version + 1 WHERE id = ?", [int(available), item_id])
    return _item(_get(db, "menu_items", item_id, "item"))


def set_modifier_available(db: sqlite_utils.Database, modifier_id: str, available: bool) -> dict:
    _get(db, "menu_modifiers", modifier_id, "modifier")
    db.execute("UPDATE menu_modifiers SET available = ?, version = version + 1 WHERE id = ?",
               [int(available), modifier_id])
    return _modifier(_get(db, "menu_modifiers", modifier_id, "modifier"))


# -- ids and positions ----------------------------------------------------------------------------


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:56].rstrip("-") or "entry"


def _new_id(db: sqlite_utils.Database, table: str, wanted: str | None, name: str) -> str:
    if wanted:
        if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [wanted]).fetchone():
            raise EditError(409, "id_taken", f"the id {wanted!r} is already used", "id")
        return wanted
    base, n = _slug(name), 2
    candidate = base
    while db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [candidate]).fetchone():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _next_position(db: sqlite_utils.Database, table: str, where: str = "1", args: tuple = ()) -> int:
    return db.execute(f"SELECT COALESCE(MAX(position) + 1, 0) FROM {table} WHERE {where}", list(args)).fetchone()[0]


# -- categories ---------------------------------------------------------------------------------


def save_category(db: sqlite_utils.Database, fields: CategoryFields, category_id: str | None = None) -> dict:
    if category_id is None:
        category_id = _new_id(db, "menu_categories", fields.id, fields.name)
        db["menu_categories"].insert({"id": category_id, "position": _next_position(db, "menu_categories"),
                                      "name": fields.name, "translations": _tr(fields.translations), "version": 1})
    else:
        _check_version(_get(db, "menu_categories", category_id, "category"), fields.version, "category")
        db.execute("UPDATE menu_categories SET name = ?, translations = ?, version = version + 1 WHERE id = ?",
                   [fields.name, _tr(fields.translations), category_id])
    row = _get(db, "menu_categories", category_id, "category")
    return {"id": row["id"], "name": row["name"], "translations": json.loads(row["translations"]),
            "version": row["version"]}


def delete_category(db: sqlite_utils.Database, category_id: str, version: int | None) -> None:
    _check_version(_get(db, "menu_categories", category_id, "category"), version, "category")
    if db.execute("SELECT COUNT(*) FROM menu_items WHERE category_id = ?", [category_id]).fetchone()[0]:
        raise EditError(409, "category_not_empty", "move or delete this category's items first")
    db.execute("DELETE FROM menu_categories WHERE id = ?", [category_id])


# -- items ---------------------------------------------------------------------------------------


def _check_item_refs(db: sqlite_utils.Database, fields: ItemFields) -> None:
    if not db.execute("SELECT 1 FROM menu_categories WHERE id = ?", [fields.category_id]).fetchone():
        raise EditError(400, "invalid", f"there is no category {fields.category_id!r}", "category_id")
    known = {r[0] for r in db.execute("SELECT id FROM menu_modifier_groups")}
    unknown = [g for g in fields.modifier_groups if g not in known]
    if unknown:
        raise EditError(400, "invalid", f"unknown modifier group(s): {', '.join(unknown)}", "modifier_groups")
    if not fields.stations:
        raise EditError(400, "invalid", "an item goes to at least one station (e.g. kitchen)", "stations")


def _item_row(fields: ItemFields) -> dict:
    return {"name": fields.name, "category_id": fields.category_id, "price_minor": fields.price_minor,
            "description": fields.description, "allergens": json.dumps(fields.allergens),
            "tags": json.dumps(fields.tags), "stations": json.dumps(fields.stations), "course": fields.course,
            "modifier_groups": json.dumps(fields.modifier_groups), "translations": _tr(fields.translations),
            "available": int(fields.available)}


def save_item(db: sqlite_utils.Database, fields: ItemFields, item_id: str | None = None, *,
              check_version: bool = True) -> dict:
    """Create (item_id None) or edit an item; a bulk import passes check_version=False."""
    _check_item_refs(db, fields)
    row = _item_row(fields)
    if item_id is None:
        item_id = _new_id(db, "menu_items", fields.id, fields.name)
        position = _next_position(db, "menu_items", "category_id = ?", (fields.category_id,))
        db["menu_items"].insert({"id": item_id, "position": position, "version": 1, **row})
    else:
        old = _get(db, "menu_items", item_id, "item")
        if check_version:
            _check_version(old, fields.version, "item")
        if old["category_id"] != fields.category_id:  # moved: goes to the end of its new category
            row["position"] = _next_position(db, "menu_items", "category_id = ?", (fields.category_id,))
        sets = ", ".join(f"{column} = ?" for column in row)
        db.execute(f"UPDATE menu_items SET {sets}, version = version + 1 WHERE id = ?", [*row.values(), item_id])
    return _item(_get(db, "menu_items", item_id, "item"))


def delete_item(db: sqlite_utils.Database, item_id: str, version: int | None) -> None:
    """Past orders keep their own copy of name and price, so an item can go."""
    _check_version(_get(db, "menu_items", item_id, "item"), version, "item")
    db.execute("DELETE FROM menu_pos_ids WHERE item_id = ?", [item_id])
    db.execute("DELETE FROM menu_items WHERE id = ?", [item_id])


# -- modifier groups and modifiers ----------------------------------------------------------------


def _group(db: sqlite_utils.Database, group_id: str) -> dict:
    row = _get(db, "menu_modifier_groups", group_id, "modifier group")
    return {"id": row["id"], "name": row["name"], "min": row["min_choices"], "max": row["max_choices"],
            "translations": json.loads(row["translations"]), "version": row["version"],
            "modifiers": [_modifier(r) for r in db.query(
                "SELECT * FROM menu_modifiers WHERE group_id = ? ORDER BY position", [group_id])]}


def _check_choices(db: sqlite_utils.Database, group_id: str | None, low: int, high: int) -> None:
    if low > high:
        raise EditError(400, "invalid", f"min ({low}) cannot be more than max ({high})", "min")
    count = db.execute("SELECT COUNT(*) FROM menu_modifiers WHERE group_id = ?", [group_id]).fetchone()[0]
    if low > count:
        raise EditError(409, "min_not_possible", f"a diner must choose {low} but the group has {count} modifier(s)")


def save_group(db: sqlite_utils.Database, fields: GroupFields, group_id: str | None = None) -> dict:
    if group_id is None:
        group_id = _new_id(db, "menu_modifier_groups", fields.id, fields.name)
        if fields.min > 0:
            raise EditError(400, "invalid", "a new group has no modifiers yet: start with min 0", "min")
        _check_choices(db, None, fields.min, fields.max)
        db["menu_modifier_groups"].insert({
            "id": group_id, "position": _next_position(db, "menu_modifier_groups"), "name": fields.name,
            "min_choices": fields.min, "max_choices": fields.max, "translations": _tr(fields.translations),
            "version": 1})
    else:
        _check_version(_get(db, "menu_modifier_groups", group_id, "modifier group"), fields.version, "modifier group")
        _check_choices(db, group_id, fields.min, fields.max)
        db.execute("""UPDATE menu_modifier_groups SET name = ?, min_choices = ?, max_choices = ?, translations = ?,
                      version = version + 1 WHERE id = ?""",
                   [fields.name, fields.min, fields.max, _tr(fields.translations), group_id])
    return _group(db, group_id)


def delete_group(db: sqlite_utils.Database, group_id: str, version: int | None) -> None:
    _check_version(_get(db, "menu_modifier_groups", group_id, "modifier group"), version, "modifier group")
    users = [r[0] for r in db.execute("SELECT name FROM menu_items, json_each(menu_items.modifier_groups) "
                                      "WHERE json_each.value = ? ORDER BY name", [group_id])]
    if users:
        raise EditError(409, "group_in_use", f"items still offer this group: {', '.join(users)}")
    db.execute("DELETE FROM menu_modifiers WHERE group_id = ?", [group_id])
    db.execute("DELETE FROM menu_modifier_groups WHERE id = ?", [group_id])


def save_modifier(db: sqlite_utils.Database, group_id: str, fields: ModifierFields,
                  modifier_id: str | None = None) -> dict:
    _get(db, "menu_modifier_groups", group_id, "modifier group")
    values = [fields.name, fields.price_minor, int(fields.available), _tr(fields.translations)]
    if modifier_id is None:
        modifier_id = _new_id(db, "menu_modifiers", fields.id, fields.name)
        db.execute("""INSERT INTO menu_modifiers (id, group_id, position, name, price_minor, available, translations,
                      version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)""",
                   [modifier_id, group_id, _next_position(db, "menu_modifiers", "group_id = ?", (group_id,)), *values])
    else:
        old = _get(db, "menu_modifiers", modifier_id, "modifier")
        if old["group_id"] != group_id:
            raise EditError(404, "not_found", f"modifier {modifier_id!r} is not in group {group_id!r}")
        _check_version(old, fields.version, "modifier")
        db.execute("""UPDATE menu_modifiers SET name = ?, price_minor = ?, available = ?, translations = ?,
                      version = version + 1 WHERE id = ?""", [*values, modifier_id])
    return _modifier(_get(db, "menu_modifiers", modifier_id, "modifier"))


def delete_modifier(db: sqlite_utils.Database, group_id: str, modifier_id: str, version: int | None) -> None:
    old = _get(db, "menu_modifiers", modifier_id, "modifier")
    if old["group_id"] != group_id:
        raise EditError(404, "not_found", f"modifier {modifier_id!r} is not in group {group_id!r}")
    _check_version(old, version, "modifier")
    group = _get(db, "menu_modifier_groups", group_id, "modifier group")
    db.execute("DELETE FROM menu_pos_modifier_ids WHERE modifier_id = ?", [modifier_id])
    db.execute("DELETE FROM menu_modifiers WHERE id = ?", [modifier_id])
    _check_choices(db, group_id, group["min_choices"], group["max_choices"])  # refused: the delete rolls back


# -- whole menu: export and import ------------------------------------------------------------------


def _translations(raw: dict) -> Translations:
    return {lang: Translation(**value) for lang, value in raw.items()}


def export_menu(db: sqlite_utils.Database) -> MenuDoc:
    """The stored menu as a menu document (the same format as agent/sample_menu.json)."""
    menu = editor_menu(db)
    restaurant = msgspec.convert(menu["restaurant"] or {"name": "", "currency": "EUR"}, RestaurantDoc)
    return MenuDoc(
        restaurant=restaurant,
        modifier_groups=[ModifierGroupDoc(
            id=g["id"], name=g["name"], min=g["min"], max=g["max"], translations=_translations(g["translations"]),
            modifiers=[ModifierDoc(id=m["id"], name=m["name"], price_minor=m["price_minor"], available=m["available"],
                                   translations=_translations(m["translations"])) for m in g["modifiers"]])
            for g in menu["modifier_groups"]],
        categories=[CategoryDoc(
            id=c["id"], name=c["name"], translations=_translations(c["translations"]),
            items=[ItemDoc(id=i["id"], name=i["name"], price_minor=i["price_minor"], description=i["description"],
                           allergens=i["allergens"], tags=i["tags"], available=i["available"], stations=i["stations"],
                           course=i["course"], modifier_groups=i["modifier_groups"],
                           translations=_translations(i["translations"]),
                           photo=msgspec.convert(i["photo"], PhotoDoc) if i["photo"] else None)
                   for i in c["items"]])
            for c in menu["categories"]])


def replace_menu(db: sqlite_utils.Database, doc: MenuDoc) -> dict:
    """Replace the whole menu with a (checked) document; counts of what is now there."""
    import_menu(db, doc)
    return {"categories": len(doc.categories), "items": sum(len(c.items) for c in doc.categories),
            "modifier_groups": len(doc.modifier_groups)}

