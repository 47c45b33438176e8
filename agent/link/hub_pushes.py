"""What an operator pushes from the hub: the menu and a few settings, applied once through the
inbox (agent/inbox.py), in the same transaction as the message's record.

A published menu replaces the agent's menu, as a manager's JSON import would; a document the
agent cannot use is rejected with the reason (staff see it on the Devices screen). Pushed settings
are kept in the `settings` table and laid over the configuration file's, at start and when they
change, so they survive restarts; a setting the hub leaves out stays as the file says.
"""

import json
import logging

import msgspec
import sqlite_utils

from agent.config import AgentConfig
from agent.menu import editor
from agent.menu.catalog import parse_menu
from contract import messages

SETTINGS_KEY = "hub_settings"  # name -> {"value", "seq"}
MENU_KEY = "hub_menu"  # the seq of the menu last published
log = logging.getLogger(__name__)

_RESTAURANT = ("close_when_paid", "wifi_ssid", "wifi_password")
_PAYMENTS = ("hold_minutes",)


def _stored(db: sqlite_utils.Database, key: str) -> dict:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else {}


def _store(db: sqlite_utils.Database, key: str, value: dict) -> None:
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, json.dumps(value)])


def stored_settings(db: sqlite_utils.Database) -> dict:
    """The pushed settings, name -> value."""
    return {name: kept["value"] for name, kept in _stored(db, SETTINGS_KEY).items()}


def with_settings(config: AgentConfig, pushed: dict) -> AgentConfig:
    """The configuration with the hub's settings laid over it."""
    def pick(names: tuple[str, ...]) -> dict:
        return {name: pushed[name] for name in names if name in pushed}

    return msgspec.structs.replace(
        config,
        restaurant=msgspec.structs.replace(config.restaurant, **pick(_RESTAURANT)),
        payments=msgspec.structs.replace(config.payments, **pick(_PAYMENTS)))


def menu_published(db: sqlite_utils.Database, env, data: messages.MenuPublished) -> None:
    doc = parse_menu(msgspec.json.encode(data.menu))  # MenuError (a ValueError): rejected with the reason
    # a resend can bring an older menu after a newer one: seq decides, the newest stays
    if env.seq <= _stored(db, MENU_KEY).get("seq", 0):
        log.info("older menu from the hub ignored", extra={"seq": env.seq})
        return
    editor.replace_menu(db, doc)
    _store(db, MENU_KEY, {"seq": env.seq, "published_at": data.published_at})


def settings_pushed(db: sqlite_utils.Database, env, data: messages.SettingsPushed) -> None:
    # each setting keeps the seq that set it, so an older push arriving late changes only what
    # no newer push has set
    kept = _stored(db, SETTINGS_KEY)
    for name, value in msgspec.structs.asdict(data).items():
        if name != "pushed_at" and value is not None and env.seq > kept.get(name, {}).get("seq", 0):
            kept[name] = {"value": value, "seq": env.seq}
    _store(db, SETTINGS_KEY, kept)


HANDLERS = {messages.MenuPublished.TYPE: menu_published, messages.SettingsPushed.TYPE: settings_pushed}
