"""What an operator pushes from the hub: the menu and a few settings, applied once through the
inbox (agent/inbox.py), in the same transaction as the message's record.

A published menu replaces the agent's menu, as a manager's JSON import would; a document the
agent cannot use is rejected with the reason (staff see it on the Devices screen). Pushed settings
are kept in the `settings` table and laid over the configuration file's, at start and when they
change, so they survive restarts; a setting the hub leaves out stays as the file says.
"""

import json

import msgspec
import sqlite_utils

from agent import menu_editor
from agent.config import AgentConfig
from agent.menu import parse_menu
from contract import messages

SETTINGS_KEY = "hub_settings"
_RESTAURANT = ("close_when_paid", "wifi_ssid", "wifi_password")
_PAYMENTS = ("hold_minutes",)


def stored_settings(db: sqlite_utils.Database) -> dict:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [SETTINGS_KEY]).fetchone()
    return json.loads(row[0]) if row else {}


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
    menu_editor.replace_menu(db, doc)


def settings_pushed(db: sqlite_utils.Database, env, data: messages.SettingsPushed) -> None:
    changed = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None and k != "pushed_at"}
    merged = {**stored_settings(db), **changed}
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [SETTINGS_KEY, json.dumps(merged)])


HANDLERS = {messages.MenuPublished.TYPE: menu_published, messages.SettingsPushed.TYPE: settings_pushed}
