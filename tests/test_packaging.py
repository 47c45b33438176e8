"""The shipped sample configurations load, so they cannot rot unnoticed."""

import asyncio
import contextlib
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from agent.config import load_config as load_agent_config
from hub.config import load_config as load_hub_config
from tests.services import mosquitto

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"


def test_sample_agent_config_loads():
    config = load_agent_config(PACKAGING / "config" / "agent.toml", env={})
    assert config.agent.id == config.broker.username  # the ACL pattern relies on it
    assert {p.name for p in config.printers} == {"kitchen", "bar"}


def test_sample_hub_config_loads_with_secrets_from_the_environment():
    config = load_hub_config(PACKAGING / "config" / "hub.toml",
                             env={"TABLESIDE_HUB_OPERATOR_TOKEN": "x" * 32})
    assert config.database_url.startswith("postgresql+psycopg://") and config.shared_subscription


async def _deliveries(port: int, reader: str, writer: str, topic_filter: str, topic: str) -> list[bytes]:
    """What `reader` receives on topic_filter when `writer` publishes to topic."""
    got: list[bytes] = []
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"r-{reader}", username=reader, password=reader) as sub:
        await sub.subscribe(topic_filter, qos=1)
        async with aiomqtt.Client("127.0.0.1", port, identifier=f"w-{writer}", username=writer,
                                  password=writer) as pub:
            await pub.publish(topic, b"hello", qos=1)

        async def collect():
            async for message in sub.messages:
                got.append(message.payload)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect(), 0.7)
    return got


@pytest.fixture
def password_file(tmp_path):
    """Each user's password is its name."""
    passwd = tmp_path / "passwd"
    passwd.touch(mode=0o600)
    for user in ("agent-a", "agent-b", "tableside-hub"):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, user], check=True, capture_output=True)
    return passwd


async def test_the_shipped_acl_confines_each_agent_to_its_own_topics(password_file):
    """The ACL file from packaging/, loaded by a real Mosquitto with password logins."""
    acl = PACKAGING / "mosquitto" / "tableside.acl"
    with mosquitto(anonymous=False, extra_config=f"password_file {password_file}\nacl_file {acl}\n") as broker:
        up_a, down_a = "tableside/v1/up/agent-a/order.placed", "tableside/v1/down/agent-a/ack"
        # allowed: an agent's own up/ to the hub, the hub's down/ to that agent
        assert await _deliveries(broker.port, "tableside-hub", "agent-a", "tableside/v1/up/+/+", up_a) == [b"hello"]
        assert await _deliveries(broker.port, "agent-a", "tableside-hub", "tableside/v1/down/agent-a/+", down_a) \
            == [b"hello"]
        # refused: writing as another agent, reading another agent's down/
        assert await _deliveries(broker.port, "tableside-hub", "agent-b", "tableside/v1/up/+/+", up_a) == []
        assert await _deliveries(broker.port, "agent-b", "tableside-hub", "tableside/v1/down/+/+", down_a) == []
