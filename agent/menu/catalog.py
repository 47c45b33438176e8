"""The menu: its document format, how it is stored, and the in-memory view used for pricing.

A menu document (JSON; agent/sample_menu.json is one) is imported into the menu_* tables. The
agent prices orders only from these tables, never from what a client says.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import msgspec
import sqlite_utils

from contract.money import MAX_MINOR, exponent

SAMPLE_MENU = Path(__file__).with_name("sample_menu.json")

Id = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Minor = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
SignedMinor = Annotated[int, msgspec.Meta(ge=-MAX_MINOR, le=MAX_MINOR)]  # a modifier may take money off


class Translation(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str = ""


Translations = dict[str, Translation]


class ModifierDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    name: str
    price_minor: SignedMinor = 0
    available: bool = True
    translations: Translations = {}


class ModifierGroupDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    name: str
    min: Annotated[int, msgspec.Meta(ge=0)]
    max: Annotated[int, msgspec.Meta(ge=1)]
    modifiers: list[ModifierDoc]
    translations: Translations = {}


class PhotoDoc(msgspec.Struct, forbid_unknown_fields=True):
    """A file under agent/static/photos/ and its size in CSS pixels (reserved before it loads)."""

    path: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}\.(svg|jpg|jpeg|png|webp|avif)$")]
    width: Annotated[int, msgspec.Meta(ge=1, le=4000)]
    height: Annotated[int, msgspec.Meta(ge=1, le=4000)]


class ItemDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    name: str
    price_minor: Minor
    description: str = ""
    allergens: list[str] = []
    tags: list[str] = []
    available: bool = True
    stations: list[str] = msgspec.field(default_factory=lambda: ["kitchen"])
    course: str = ""
    modifier_groups: list[str] = []
    translations: Translations = {}
    photo: PhotoDoc | None = None
    # the item's own tax rate in basis points (e.g. alcohol at a higher rate); None: the restaurant's
    tax_rate_bp: Annotated[int, msgspec.Meta(ge=0, le=10000)] | None = None


class CategoryDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Id
    name: str
    items: list[ItemDoc]
    translations: Translations = {}


class RestaurantDoc(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    currency: str
    locale: str = "en"
    languages: list[str] = msgspec.field(default_factory=lambda: ["en"])
    prices_include_tax: bool = True


class MenuDoc(msgspec.Struct, forbid_unknown_fields=True):
    restaurant: RestaurantDoc
    categories: list[CategoryDoc]
    modifier_groups: list[ModifierGroupDoc] = []


class MenuError(ValueError):
    """A menu document that cannot be imported; the message says where."""


def parse_menu(data: bytes) -> MenuDoc:
    try:
        doc = msgspec.json.decode(data, type=MenuDoc)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MenuError(f"menu: {exc}") from None
    _check_references(doc)
    return doc


def _check_references(doc: MenuDoc) -> None:
    try:
        exponent(doc.restaurant.currency)
    except ValueError as exc:
        raise MenuError(f"restaurant.currency: {exc}") from None
    groups = {}
    modifier_ids: set[str] = set()
    for group in doc.modifier_groups:
        if group.id in groups:
            raise MenuError(f"modifier group {group.id!r} is defined twice")
        if group.min > group.max or group.min > len(group.modifiers):
            raise MenuError(f"modifier group {group.id!r}: min {group.min} cannot be met")
        groups[group.id] = group
        for mod in group.modifiers:
            if mod.id in modifier_ids:
                raise MenuError(f"modifier {mod.id!r} appears twice (modifier ids are global)")
            modifier_ids.add(mod.id)
    item_ids: set[str] = set()
    for cat in doc.categories:
        for item in cat.items:
            if item.id in item_ids:
                raise MenuError(f"item {item.id!r} appears twice")
            item_ids.add(item.id)
            for ref in item.modifier_groups:
                if ref not in groups:
                    raise MenuError(f"item {item.id!r} names unknown modifier group {ref!r}")


def load_menu_file(path: Path | None) -> MenuDoc:
    path = path or SAMPLE_MENU
    try:
        return parse_menu(Path(path).read_bytes())
    except OSError as exc:
        raise MenuError(f"cannot read menu file {path}: {exc.strerror}") from None


def _tr(translations: Translations) -> str:
    return json.dumps({k: msgspec.to_builtins(v) for k, v in translations.items()}, ensure_ascii=False)


def import_menu(db: sqlite_utils.Database, doc: MenuDoc) -> None:
    """Replace the stored menu with a document (inside the caller's transaction)."""
    for table in ("menu_items", "menu_modifiers", "menu_modifier_groups", "menu_categories"):
        db.execute(f"DELETE FROM {table}")
    db["settings"].upsert({"key": "restaurant", "value": msgspec.json.encode(doc.restaurant).decode()}, pk="key")
    db["menu_modifier_groups"].insert_all(
        {"id": g.id, "position": i, "name": g.name, "min_choices": g.min, "max_choices": g.max,
         "translations": _tr(g.translations)} for i, g in enumerate(doc.modifier_groups))
    db["menu_modifiers"].insert_all(
        {"id": m.id, "group_id": g.id, "position": j, "name": m.name, "price_minor": m.price_minor,
         "available": int(m.available), "translations": _tr(m.translations)}
        for g in doc.modifier_groups for j, m in enumerate(g.modifiers))
    db["menu_categories"].insert_all(
        {"id": c.id, "position": i, "name": c.name, "translations": _tr(c.translations)}
        for i, c in enumerate(doc.categories))
    db["menu_items"].insert_all(
        {"id": it.id, "category_id": c.id, "position": j, "name": it.name, "description": it.description,
         "price_minor": it.price_minor, "available": int(it.available), "allergens": json.dumps(it.allergens),
         "tags": json.dumps(it.tags), "stations": json.dumps(it.stations), "course": it.course,
         "modifier_groups": json.dumps(it.modifier_groups), "translations": _tr(it.translations),
         "photo": msgspec.json.encode(it.photo).decode() if it.photo else None, "tax_rate_bp": it.tax_rate_bp}
        for c in doc.categories for j, it in enumerate(c.items))


def menu_is_empty(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT COUNT(*) FROM menu_items").fetchone()[0] == 0


# -- the in-memory view ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    translations: dict


@dataclass(frozen=True)
class Modifier:
    id: str
    group_id: str
    name: str
    price_minor: int
    available: bool
    translations: dict


@dataclass(frozen=True)
class ModifierGroup:
    id: str
    name: str
    min: int
    max: int
    modifier_ids: tuple[str, ...]
    translations: dict


@dataclass(frozen=True)
class Item:
    id: str
    category_id: str
    name: str
    description: str
    price_minor: int
    available: bool
    allergens: tuple[str, ...]
    tags: tuple[str, ...]
    stations: tuple[str, ...]
    course: str
    modifier_group_ids: tuple[str, ...]
    translations: dict
    photo: dict | None = None  # {"path", "width", "height"}; path is under /static/photos/
    tax_rate_bp: int | None = None  # its own rate, else the restaurant's; copied onto each order line
    pos_id: str | None = None  # the POS's id for it (menu_pos_ids), told to the POS instead of ours


PHOTOS_URL = "/static/photos/"


def _public_photo(photo: dict | None) -> dict | None:
    return {"url": PHOTOS_URL + photo["path"], "width": photo["width"], "height": photo["height"]} if photo else None


@dataclass(frozen=True)
class Menu:
    restaurant: dict
    categories: list[Category]  # in menu order
    items: dict[str, Item]
    groups: dict[str, ModifierGroup]
    modifiers: dict[str, Modifier]
    _public: dict[str, tuple[bytes, str]] = field(default_factory=dict, compare=False)

    @property
    def currency(self) -> str:
        return self.restaurant["currency"]

    def public(self, lang: str | None = None) -> tuple[bytes, str]:
        """The menu as the diner app reads it, in one language, with its ETag (cached)."""
        lang = lang if lang in self.restaurant.get("languages", []) else self.restaurant.get("locale", "en")
        if lang not in self._public:
            body = msgspec.json.encode(self._document(lang))
            self._public[lang] = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        return self._public[lang]

    def _document(self, lang: str) -> dict:
        def t(obj, key="name"):  # the translated text, falling back to the menu's own language
            return (obj.translations.get(lang) or {}).get(key) or getattr(obj, key)

        items_by_cat: dict[str, list[Item]] = {}
        for item in self.items.values():
            items_by_cat.setdefault(item.category_id, []).append(item)
        return {
            "restaurant": {**self.restaurant, "exponent": exponent(self.currency), "lang": lang},
            "modifier_groups": [
                {"id": g.id, "name": t(g), "min": g.min, "max": g.max,
                 "modifiers": [{"id": m.id, "name": t(m), "price_minor": m.price_minor, "available": m.available}
                               for m in (self.modifiers[mid] for mid in g.modifier_ids)]}
                for g in self.groups.values()],
            "categories": [
                {"id": c.id, "name": t(c),
                 "items": [{"id": i.id, "name": t(i), "description": t(i, "description"),
                            "price_minor": i.price_minor, "allergens": list(i.allergens), "tags": list(i.tags),
                            "available": i.available, "course": i.course,
                            "modifier_groups": list(i.modifier_group_ids), "photo": _public_photo(i.photo)}
                           for i in items_by_cat.get(c.id, [])]}
                for c in self.categories],
        }


def read_menu(db: sqlite_utils.Database) -> Menu:
    """Build the in-memory menu from the tables (runs on a reader thread)."""
    row = db.execute("SELECT value FROM settings WHERE key = 'restaurant'").fetchone()
    restaurant = json.loads(row[0]) if row else {"name": "", "currency": "EUR", "locale": "en", "languages": ["en"]}
    modifiers = {r["id"]: Modifier(r["id"], r["group_id"], r["name"], r["price_minor"], bool(r["available"]),
                                   json.loads(r["translations"]))
                 for r in db.query("SELECT * FROM menu_modifiers ORDER BY group_id, position")}
    groups = {}
    for r in db.query("SELECT * FROM menu_modifier_groups ORDER BY position"):
        mids = tuple(m.id for m in modifiers.values() if m.group_id == r["id"])
        groups[r["id"]] = ModifierGroup(r["id"], r["name"], r["min_choices"], r["max_choices"], mids,
                                        json.loads(r["translations"]))
    categories = [Category(r["id"], r["name"], json.loads(r["translations"]))
                  for r in db.query("SELECT * FROM menu_categories ORDER BY position")]
    items = {r["id"]: Item(r["id"], r["category_id"], r["name"], r["description"], r["price_minor"],
                           bool(r["available"]), tuple(json.loads(r["allergens"])), tuple(json.loads(r["tags"])),
                           tuple(json.loads(r["stations"])), r["course"], tuple(json.loads(r["modifier_groups"])),
                           json.loads(r["translations"]), json.loads(r["photo"]) if r["photo"] else None,
                           r["tax_rate_bp"], r["pos_id"])
             # the rate and the POS id with the rest, so an order takes them from memory, from the same
             # menu that priced it, rather than a query per line in its transaction
             for r in db.query("""SELECT i.*, p.pos_id FROM menu_items i JOIN menu_categories c ON c.id = i.category_id
                                  LEFT JOIN menu_pos_ids p ON p.item_id = i.id
                                  ORDER BY c.position, i.position""")}
    return Menu(restaurant, categories, items, groups, modifiers)
