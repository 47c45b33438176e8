"""MQTT topic names of the link, versioned.

agent -> hub: tableside/v1/up/{agent_id}/{type}
hub -> agent: tableside/v1/down/{agent_id}/{type}
"""

import re
from typing import Literal, NamedTuple

PREFIX = "tableside/v1"
# Several hub workers split the up-stream through a shared subscription (MQTT 5 / Mosquitto).
HUB_SHARED_SUBSCRIPTION = f"$share/hub/{PREFIX}/up/+/+"
# Brokers without shared subscriptions (the demo's embedded amqtt) get the plain filter.
HUB_SUBSCRIPTION = f"{PREFIX}/up/+/+"

_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Topic(NamedTuple):
    direction: Literal["up", "down"]
    agent_id: str
    type: str


def check_agent_id(agent_id: str) -> str:
    """An agent id must be safe inside a topic (no '/', '+', '#') and short."""
    if not _AGENT_ID.match(agent_id):
        raise ValueError(f"agent id {agent_id!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return agent_id


def up(agent_id: str, type_: str) -> str:
    return f"{PREFIX}/up/{check_agent_id(agent_id)}/{type_}"


def down(agent_id: str, type_: str) -> str:
    return f"{PREFIX}/down/{check_agent_id(agent_id)}/{type_}"


def agent_subscription(agent_id: str) -> str:
    """What an agent subscribes to: everything the hub sends it."""
    return f"{PREFIX}/down/{check_agent_id(agent_id)}/+"


def parse(topic: str) -> Topic:
    """Split a link topic; ValueError when it is not one of ours."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != PREFIX or parts[2] not in ("up", "down"):
        raise ValueError(f"not a tableside/v1 link topic: {topic!r}")
    return Topic(parts[2], check_agent_id(parts[3]), parts[4])  # type: ignore[arg-type]
