import json

import pytest

from agent.menu.catalog import SAMPLE_MENU, MenuError, import_menu, load_menu_file, parse_menu, read_menu
from agent.menu.pricing import LineRequest, OrderRejected, OrderRequest, price
from agent.store.database import Database
from agent.store.migrations import migrate


@pytest.fixture(scope="module")
def menu(tmp_path_factory):
    database = Database(tmp_path_factory.mktemp("menu") / "m.sqlite")
    database.start()
    migrate(database)
    database.write_sync(import_menu, load_menu_file(None))
    yield database.write_sync(read_menu)
    database.close()


def test_sample_menu_is_a_real_restaurant(menu):
    assert menu.currency == "EUR"
    assert len(menu.categories) >= 5 and len(menu.items) >= 25
    assert any(item.allergens for item in menu.items.values())
    assert any(item.modifier_group_ids for item in menu.items.values())
    assert set(menu.restaurant["languages"]) >= {"en", "de", "fr"}


def test_import_keeps_order_and_translations(menu):
    doc = json.loads(SAMPLE_MENU.read_text())
    assert [c.id for c in menu.categories] == [c["id"] for c in doc["categories"]]
    body, etag = menu.public("fr")
    public = json.loads(body)
    assert public["categories"][0]["name"] == doc["categories"][0]["translations"]["fr"]["name"]
    assert etag != menu.public("en")[1]
    assert menu.public("xx")[1] == menu.public("en")[1]  # unknown language falls back


def _doc(**changes):
    doc = json.loads(SAMPLE_MENU.read_text())
    for path, value in changes.items():
        target = doc
        *parts, last = path.split(".")
        for p in parts:
            target = target[int(p)] if p.isdigit() else target[p]
        target[last] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("changes", "words"), [
    ({"restaurant.currency": "EURO"}, "restaurant.currency"),
    ({"categories.0.items.0.modifier_groups": ["nope"]}, "unknown modifier group 'nope'"),
    ({"categories.0.items.1.id": "onion-soup"}, "appears twice"),
    ({"categories.0.items.0.price_minor": -5}, "price_minor"),
    ({"categories.0.items.0.price_minor": 9.5}, "price_minor"),
])
def test_bad_menus_are_refused_with_the_place(changes, words):
    with pytest.raises(MenuError, match=words):
        parse_menu(_doc(**changes))


def _line(item_id, qty=1, modifiers=(), note=""):
    return OrderRequest(lines=[LineRequest(item_id=item_id, qty=qty, modifiers=list(modifiers), note=note)])


def test_modifier_prices_add_to_the_unit_price(menu):
    burger = menu.items["brasserie-burger"]
    extras = [m for m in menu.modifiers.values() if m.group_id == "burger-extras" and m.available][:2]
    chosen = ["doneness-medium", "side-fries", *[m.id for m in extras]]
    priced = price(menu, _line("brasserie-burger", 3, chosen))
    unit = burger.price_minor + sum(menu.modifiers[m].price_minor for m in chosen)
    assert priced.lines[0].unit_price_minor == unit
    assert priced.total_minor == 3 * unit


def test_too_many_choices_in_a_group(menu):
    with pytest.raises(OrderRejected) as info:
        price(menu, _line("steak-frites", 1, ["doneness-rare", "doneness-medium"]))
    assert info.value.code == "modifier_choice" and info.value.field == "lines[0].modifiers"


def test_sold_out_modifier(menu):
    sold_out = next(m for m in menu.modifiers.values() if not m.available)
    item = next(i for i in menu.items.values() if sold_out.group_id in i.modifier_group_ids and i.available)
    with pytest.raises(OrderRejected) as info:
        price(menu, _line(item.id, 1, [sold_out.id]))
    assert info.value.code == "sold_out"
