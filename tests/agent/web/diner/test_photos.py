"""Menu item photos: in the menu document, stored with the menu, published to the diner app."""

import asyncio
import json

import msgspec
import pytest

from agent.menu.catalog import SAMPLE_MENU, MenuError, import_menu, parse_menu, read_menu
from agent.store.database import Database
from agent.store.migrations import migrate
from agent.web.diner.pages import STATIC


def _with_photo(photo) -> bytes:
    doc = json.loads(SAMPLE_MENU.read_bytes())
    doc["categories"][0]["items"][0]["photo"] = photo
    return json.dumps(doc).encode()


async def test_menu_publishes_photo_url_and_size(agent_client):
    menu = await (await agent_client.get("/api/v1/menu")).json()
    items = {i["id"]: i for c in menu["categories"] for i in c["items"]}
    assert items["steak-frites"]["photo"] == {"url": "/static/photos/steak-frites.svg", "width": 320, "height": 240}
    assert items["escargots"]["photo"] is None
    assert sum(1 for i in items.values() if i["photo"]) >= 12


def test_every_sample_photo_exists_and_is_an_svg_of_its_stated_size():
    doc = parse_menu(SAMPLE_MENU.read_bytes())
    photos = [i.photo for c in doc.categories for i in c.items if i.photo]
    assert len(photos) >= 12
    for photo in photos:
        text = (STATIC / "photos" / photo.path).read_text()
        assert text.startswith("<svg") and f'viewBox="0 0 {photo.width} {photo.height}"' in text


@pytest.mark.parametrize("photo", [
    {"path": "../secret.svg", "width": 10, "height": 10},
    {"path": "https://example.com/x.jpg", "width": 10, "height": 10},
    {"path": "soup.svg", "width": 0, "height": 10},
    {"path": "soup.svg"}])
def test_bad_photos_are_refused_with_the_field_named(photo):
    with pytest.raises(MenuError, match="photo"):
        parse_menu(_with_photo(photo))


async def test_photo_survives_import_and_read_back(tmp_path):
    database = Database(tmp_path / "agent.sqlite")
    database.start()
    try:
        await asyncio.to_thread(migrate, database)
        doc = parse_menu(_with_photo({"path": "onion-soup.svg", "width": 640, "height": 480}))
        await database.write(import_menu, doc)
        menu = await database.read(read_menu)
    finally:
        database.close()
    first = doc.categories[0].items[0].id
    assert menu.items[first].photo == {"path": "onion-soup.svg", "width": 640, "height": 480}
    assert msgspec.json.decode(menu.public("en")[0])["categories"][0]["items"][0]["photo"]["width"] == 640
