"""Sold out, the menu editor, and menu import/export, through the staff API."""

import csv
import io
import json

from agent.devices.jobs import POS_DEVICE
from agent.menu.catalog import SAMPLE_MENU
from agent.state import STATE
from drivers.pos.base import PosItem
from tests.agent.staff.helpers import csrf, signed_in

BASE = "/api/v1/staff/menu"


async def _error(resp, status: int) -> dict:
    assert resp.status == status, await resp.text()
    return (await resp.json())["error"]


async def _diner_items(client) -> dict:
    menu = await (await client.get("/api/v1/menu")).json()
    return {i["id"]: i for c in menu["categories"] for i in c["items"]}


async def _diner_modifiers(client) -> dict:
    menu = await (await client.get("/api/v1/menu")).json()
    return {m["id"]: m for g in menu["modifier_groups"] for m in g["modifiers"]}


async def _editor_item(client, item_id: str) -> dict:
    menu = await (await client.get(BASE)).json()
    return next(i for c in menu["categories"] for i in c["items"] if i["id"] == item_id)


def _form(item: dict) -> dict:
    """What the editor form sends back for an item."""
    keep = ("name", "category_id", "price_minor", "description", "allergens", "tags", "stations", "course",
            "modifier_groups", "translations", "available", "version")
    return {k: item[k] for k in keep}


# -- sold out ----------------------------------------------------------------------------------------


async def test_kitchen_marks_an_item_sold_out_and_the_diner_menu_changes_at_once(staff_client):
    token = await signed_in(staff_client, "kitchen")
    etag = (await staff_client.get("/api/v1/menu")).headers["ETag"]
    with staff_client.app[STATE].events.subscribe(staff=True) as events:
        resp = await staff_client.post(f"{BASE}/items/steak-frites/availability", json={"available": False},
                                       headers=csrf(token))
        assert resp.status == 200 and (await resp.json())["item"]["available"] is False
        event = events.queue.get_nowait()
    assert event.kind == "menu"
    assert (await _diner_items(staff_client))["steak-frites"]["available"] is False
    assert (await staff_client.get("/api/v1/menu")).headers["ETag"] != etag
    back = await staff_client.post(f"{BASE}/items/steak-frites/availability", json={"available": True},
                                   headers=csrf(token))
    assert back.status == 200
    assert (await _diner_items(staff_client))["steak-frites"]["available"] is True


async def test_a_server_marks_a_modifier_sold_out(staff_client):
    token = await signed_in(staff_client, "server")
    resp = await staff_client.post(f"{BASE}/modifiers/sauce-pepper/availability", json={"available": False},
                                   headers=csrf(token))
    assert resp.status == 200
    assert (await _diner_modifiers(staff_client))["sauce-pepper"]["available"] is False


async def test_sold_out_refusals_change_nothing(staff_client):
    resp = await staff_client.post(f"{BASE}/items/steak-frites/availability", json={"available": False})
    assert (await _error(resp, 401))["code"] == "sign_in_required"
    token = await signed_in(staff_client, "kitchen")
    resp = await staff_client.post(f"{BASE}/items/steak-frites/availability", json={"available": False})
    assert (await _error(resp, 403))["code"] == "csrf_failed"
    resp = await staff_client.post(f"{BASE}/items/steak-frites/availability", json={"available": "no"},
                                   headers=csrf(token))
    assert (await _error(resp, 400))["field"] == "available"
    resp = await staff_client.post(f"{BASE}/items/no-such-dish/availability", json={"available": False},
                                   headers=csrf(token))
    assert (await _error(resp, 404))["code"] == "not_found"
    assert (await _diner_items(staff_client))["steak-frites"]["available"] is True


# -- the editor ----------------------------------------------------------------------------------------


async def test_manager_creates_edits_and_deletes_an_item(staff_client):
    token = await signed_in(staff_client, "manager")
    menu = await (await staff_client.get(BASE)).json()
    category = menu["categories"][0]["id"]
    new = {"name": "Île flottante", "category_id": category, "price_minor": 850, "description": "Vanilla",
           "allergens": ["milk", "egg"], "tags": ["vegetarian"], "stations": ["desserts"],
           "modifier_groups": [], "translations": {"de": {"name": "Schwimmende Insel", "description": "Vanille"}}}
    resp = await staff_client.post(f"{BASE}/items", json=new, headers=csrf(token))
    assert resp.status == 201, await resp.text()
    item = (await resp.json())["item"]
    assert item["id"] == "ile-flottante" and item["version"] == 1
    diner = (await _diner_items(staff_client))["ile-flottante"]
    assert diner["price_minor"] == 850 and diner["allergens"] == ["milk", "egg"]
    de = await (await staff_client.get("/api/v1/menu?lang=de")).json()
    assert any(i["description"] == "Vanille" for c in de["categories"] for i in c["items"])

    edited = await staff_client.put(f"{BASE}/items/ile-flottante", json={**_form(item), "price_minor": 900},
                                    headers=csrf(token))
    assert edited.status == 200 and (await edited.json())["item"]["version"] == 2
    assert (await _diner_items(staff_client))["ile-flottante"]["price_minor"] == 900

    stale = await staff_client.delete(f"{BASE}/items/ile-flottante?version=1", headers=csrf(token))
    assert (await _error(stale, 409))["code"] == "stale"
    assert (await staff_client.delete(f"{BASE}/items/ile-flottante?version=2", headers=csrf(token))).status == 200
    assert "ile-flottante" not in await _diner_items(staff_client)


async def test_a_stale_form_is_refused_with_409_and_nothing_changes(staff_client, other_client):
    token = await signed_in(staff_client, "manager")
    other_token = await signed_in(other_client, "manager", name="Second")
    loaded = await _editor_item(staff_client, "onion-soup")
    # someone else saves first
    first = await other_client.put(f"{BASE}/items/onion-soup", json={**_form(loaded), "price_minor": 1000},
                                   headers=csrf(other_token))
    assert first.status == 200
    late = await staff_client.put(f"{BASE}/items/onion-soup", json={**_form(loaded), "price_minor": 1},
                                  headers=csrf(token))
    err = await _error(late, 409)
    assert err["code"] == "stale" and "Someone else changed" in err["message"]
    assert (await _diner_items(staff_client))["onion-soup"]["price_minor"] == 1000


async def test_an_edit_without_a_version_is_refused(staff_client):
    token = await signed_in(staff_client, "manager")
    form = _form(await _editor_item(staff_client, "onion-soup"))
    del form["version"]
    resp = await staff_client.put(f"{BASE}/items/onion-soup", json=form, headers=csrf(token))
    assert (await _error(resp, 400))["field"] == "version"


async def test_bad_item_input_names_the_field_and_changes_nothing(staff_client):
    token = await signed_in(staff_client, "manager")
    before = await _editor_item(staff_client, "onion-soup")
    form = _form(before)
    for change, field in (({"price_minor": -5}, "price_minor"), ({"name": "  "}, "name"),
                          ({"category_id": "nowhere"}, "category_id"), ({"modifier_groups": ["ghost"]},
                                                                         "modifier_groups"),
                          ({"colour": "red"}, None)):
        resp = await staff_client.put(f"{BASE}/items/onion-soup", json={**form, **change}, headers=csrf(token))
        err = await _error(resp, 400)
        if field:
            assert err["field"] == field, (change, err)
    assert await _editor_item(staff_client, "onion-soup") == before


async def test_kitchen_cannot_edit_the_menu(staff_client):
    token = await signed_in(staff_client, "kitchen")
    form = _form(await _editor_item(staff_client, "onion-soup"))
    resp = await staff_client.put(f"{BASE}/items/onion-soup", json={**form, "price_minor": 1}, headers=csrf(token))
    err = await _error(resp, 403)
    assert err["code"] == "forbidden" and "manager" in err["message"]
    assert (await _diner_items(staff_client))["onion-soup"]["price_minor"] == form["price_minor"]


async def test_categories_groups_and_modifiers(staff_client):
    token = await signed_in(staff_client, "manager")
    cat = await staff_client.post(f"{BASE}/categories", json={"name": "Specials"}, headers=csrf(token))
    cat = (await cat.json())["category"]
    group = await staff_client.post(f"{BASE}/modifier-groups", json={"name": "Milk", "min": 0, "max": 1},
                                    headers=csrf(token))
    assert group.status == 201
    group = (await group.json())["group"]
    oat = await staff_client.post(f"{BASE}/modifier-groups/{group['id']}/modifiers",
                                  json={"name": "Oat milk", "price_minor": 40}, headers=csrf(token))
    assert oat.status == 201 and (await oat.json())["modifier"]["id"] == "oat-milk"
    item = await staff_client.post(f"{BASE}/items", json={"name": "Flat white", "category_id": cat["id"],
                                                          "price_minor": 380, "modifier_groups": [group["id"]]},
                                   headers=csrf(token))
    assert item.status == 201
    menu = await (await staff_client.get("/api/v1/menu")).json()
    assert menu["categories"][-1]["name"] == "Specials"
    assert any(g["id"] == "milk" and g["modifiers"][0]["name"] == "Oat milk" for g in menu["modifier_groups"])
    # a group items still offer, and a category with items, cannot go
    resp = await staff_client.delete(f"{BASE}/modifier-groups/milk?version={group['version']}", headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "group_in_use"
    resp = await staff_client.delete(f"{BASE}/categories/{cat['id']}?version={cat['version']}", headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "category_not_empty"
    # min above the number of modifiers cannot be met
    resp = await staff_client.put(f"{BASE}/modifier-groups/milk", json={"name": "Milk", "min": 2, "max": 2,
                                                                        "version": group["version"]},
                                  headers=csrf(token))
    assert (await _error(resp, 409))["code"] == "min_not_possible"
    renamed = await staff_client.put(f"{BASE}/categories/{cat['id']}",
                                     json={"name": "Today's specials", "version": cat["version"]}, headers=csrf(token))
    assert (await renamed.json())["category"]["name"] == "Today's specials"


# -- import and export ------------------------------------------------------------------------------


async def test_json_export_round_trips_through_import(staff_client):
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.get(f"{BASE}/export.json")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    exported = json.loads(await resp.text())
    sample = json.loads(SAMPLE_MENU.read_text())
    assert exported["restaurant"] == sample["restaurant"]
    assert [c["id"] for c in exported["categories"]] == [c["id"] for c in sample["categories"]]
    exported["categories"][0]["items"][0]["name"] = "Renamed by import"
    resp = await staff_client.post(f"{BASE}/import.json", data=json.dumps(exported).encode(), headers=csrf(token))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["imported"]["items"] == sum(len(c["items"]) for c in sample["categories"])
    first = exported["categories"][0]["items"][0]["id"]
    assert (await _diner_items(staff_client))[first]["name"] == "Renamed by import"


async def test_a_bad_menu_document_is_refused_and_the_menu_stays(staff_client):
    token = await signed_in(staff_client, "manager")
    before = await _diner_items(staff_client)
    doc = json.loads(SAMPLE_MENU.read_text())
    doc["categories"][0]["items"][0]["modifier_groups"] = ["nope"]
    resp = await staff_client.post(f"{BASE}/import.json", data=json.dumps(doc).encode(), headers=csrf(token))
    err = await _error(resp, 400)
    assert err["code"] == "invalid_menu" and "nope" in err["message"]
    assert await _diner_items(staff_client) == before


async def test_csv_export_and_import_add_and_update_items(staff_client):
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.get(f"{BASE}/items.csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    soup = next(r for r in rows if r["id"] == "onion-soup")
    assert soup["price"] == "9.50" and "name:de" in soup
    soup["price"] = "10.25"
    new = {**soup, "id": "", "name": "=HYPERLINK(1)", "category": "Late night", "price": "4"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([soup, new])
    resp = await staff_client.post(f"{BASE}/items.csv", data=out.getvalue().encode(),
                                   headers={**csrf(token), "Content-Type": "text/csv"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["imported"] == {"created": 1, "updated": 1}
    items = await _diner_items(staff_client)
    assert items["onion-soup"]["price_minor"] == 1025
    assert items["hyperlink-1"]["price_minor"] == 400
    exported = await (await staff_client.get(f"{BASE}/items.csv")).text()
    assert "'=HYPERLINK(1)" in exported  # a spreadsheet will not run it as a formula


async def test_a_bad_csv_row_refuses_the_whole_file(staff_client):
    token = await signed_in(staff_client, "manager")
    text = "id,category,name,price\r\nonion-soup,Starters,Onion soup,11.00\r\n,Starters,Bad,1.234\r\n"
    resp = await staff_client.post(f"{BASE}/items.csv", data=text.encode(), headers=csrf(token))
    err = await _error(resp, 400)
    assert err["code"] == "invalid_csv" and "row 3" in err["message"] and "nothing was imported" in err["message"]
    assert (await _diner_items(staff_client))["onion-soup"]["price_minor"] == 950
    resp = await staff_client.post(f"{BASE}/items.csv", data=b"id,name\r\nx,y\r\n", headers=csrf(token))
    assert "category" in (await _error(resp, 400))["message"]


async def test_import_from_the_pos(staff_client):
    pos = staff_client.app[STATE].dispatcher.devices[POS_DEVICE].pos
    pos._catalogue = {"P-1": PosItem("P-1", "Till special", 1234, "Specials", True, [])}  # set up on the till
    token = await signed_in(staff_client, "manager")
    resp = await staff_client.post(f"{BASE}/import-from-pos", headers=csrf(token))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["imported"]["created"] == 1
    assert (await _diner_items(staff_client))["till-special"]["price_minor"] == 1234


async def test_import_from_the_pos_kitchen_is_refused(staff_client):
    token = await signed_in(staff_client, "kitchen")
    resp = await staff_client.post(f"{BASE}/import-from-pos", headers=csrf(token))
    assert (await _error(resp, 403))["code"] == "forbidden"
