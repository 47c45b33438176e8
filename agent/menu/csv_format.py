"""Menu items as CSV, for spreadsheets: export, and import that adds and updates items.

One row per item. Prices are in the currency's major unit ("28.90" for EUR), lists (allergens,
tags, stations, modifier groups) are comma-separated in one cell, categories are named (a new
name makes a new category), and each of the menu's other languages has `name:xx` and
`description:xx` columns. Importing never deletes: items not in the file stay as they are. Every
row is checked first; one bad row refuses the whole file, naming the row.

Cells that a spreadsheet would run as a formula (starting = + - @) are written with a leading
apostrophe, which import takes off again.
"""

import csv
import io
from decimal import Decimal, InvalidOperation

import msgspec
import sqlite_utils

from agent.menu.editor import CategoryFields, EditError, ItemFields, editor_menu, save_category, save_item
from contract.money import MAX_MINOR, exponent

BASE_COLUMNS = ["id", "category", "name", "description", "price", "available", "allergens", "tags", "stations",
                "course", "modifier_groups"]
_FORMULA = ("=", "+", "-", "@")
MAX_ROWS = 5000


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA) else cell


def _unsafe(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA) else cell


def _other_languages(restaurant: dict) -> list[str]:
    return [lang for lang in restaurant.get("languages", []) if lang != restaurant.get("locale", "en")]


def _price_text(minor: int, exp: int) -> str:
    return str(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))) if exp else str(minor)


def export_items(db: sqlite_utils.Database) -> str:
    menu = editor_menu(db)
    restaurant = menu["restaurant"] or {"currency": "EUR"}
    exp, langs = exponent(restaurant["currency"]), _other_languages(restaurant)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BASE_COLUMNS + [f"{field}:{lang}" for lang in langs for field in ("name", "description")])
    for category in menu["categories"]:
        for item in category["items"]:
            row = [item["id"], category["name"], item["name"], item["description"],
                   _price_text(item["price_minor"], exp), "yes" if item["available"] else "no",
                   ", ".join(item["allergens"]), ", ".join(item["tags"]), ", ".join(item["stations"]),
                   item["course"], ", ".join(item["modifier_groups"])]
            for lang in langs:
                tr = item["translations"].get(lang, {})
                row += [tr.get("name", ""), tr.get("description", "")]
            writer.writerow([_safe(str(cell)) for cell in row])
    return out.getvalue()


def _price_minor(text: str, exp: int) -> int:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"price {text!r} is not a number") from None
    minor = value.scaleb(exp)
    if value < 0 or minor != minor.to_integral_value():
        raise ValueError(f"price {text!r} must be positive with at most {exp} decimals")
    if minor > MAX_MINOR:
        raise ValueError(f"price {text!r} is more than any menu price can be")
    return int(minor)


def _list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(",") if part.strip()]


def _available(cell: str) -> bool:
    value = cell.strip().lower()
    if value in ("", "yes", "y", "true", "1"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"available is yes or no, not {cell!r}")


def _fields(row: dict, category_id: str, exp: int, langs: list[str], old: dict | None) -> ItemFields:
    translations = dict(old["translations"]) if old else {}
    for lang in langs:
        if f"name:{lang}" in row:
            name, description = row[f"name:{lang}"].strip(), row.get(f"description:{lang}", "").strip()
            if name:
                translations[lang] = {"name": name, "description": description}
            else:
                translations.pop(lang, None)
    data = {"name": row["name"].strip(), "category_id": category_id, "price_minor": _price_minor(row["price"], exp),
            "description": row.get("description", "").strip(), "available": _available(row.get("available", "")),
            "allergens": _list(row.get("allergens", "")), "tags": _list(row.get("tags", "")),
            "stations": _list(row.get("stations", "")) or ["kitchen"], "course": row.get("course", "").strip(),
            "modifier_groups": _list(row.get("modifier_groups", "")), "translations": translations}
    if not data["name"]:
        raise ValueError("name is empty")
    if row.get("id", "").strip():
        data["id"] = row["id"].strip()
    return msgspec.convert(data, ItemFields)


def import_items(db: sqlite_utils.Database, text: str) -> dict:
    """Add and update items from CSV text (one transaction); counts of created and updated items."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"name", "category", "price"} - set(reader.fieldnames or [])
    if missing:
        raise EditError(400, "invalid_csv", f"the CSV needs the columns: {', '.join(sorted(missing))}")
    menu = editor_menu(db)
    restaurant = menu["restaurant"] or {"currency": "EUR"}
    exp, langs = exponent(restaurant["currency"]), _other_languages(restaurant)
    categories = {c["name"].casefold(): c["id"] for c in menu["categories"]}
    items = {i["id"]: i for c in menu["categories"] for i in c["items"]}
    created = updated = 0
    for number, raw in enumerate(reader, start=2):  # row 1 is the header
        if number > MAX_ROWS + 1:
            raise EditError(400, "invalid_csv", f"a CSV import takes at most {MAX_ROWS} items")
        row = {key: _unsafe(value or "") for key, value in raw.items() if key is not None}
        try:
            category = row["category"].strip()
            if not category:
                raise ValueError("category is empty")
            if category.casefold() not in categories:
                categories[category.casefold()] = save_category(db, CategoryFields(name=category))["id"]
            item_id = row.get("id", "").strip()
            fields = _fields(row, categories[category.casefold()], exp, langs, items.get(item_id))
            if item_id in items:
                save_item(db, fields, item_id, check_version=False)
                updated += 1
            else:
                items[save_item(db, fields)["id"]] = {"translations": {}}
                created += 1
        except (ValueError, msgspec.ValidationError) as exc:
            message = exc.message if isinstance(exc, EditError) else str(exc)
            raise EditError(400, "invalid_csv", f"row {number}: {message}; nothing was imported") from None
    return {"created": created, "updated": updated}
