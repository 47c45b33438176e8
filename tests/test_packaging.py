"""The shipped sample configurations load, so they cannot rot unnoticed."""

import asyncio
from pathlib import Path

from agent.config import load_config as load_agent_config
from hub.config import load_config as load_hub_config

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"


def test_sample_agent_config_loads():
    config = load_agent_config(PACKAGING / "config" / "agent.toml", env={})
    assert config.agent.id == config.broker.username  # the ACL pattern relies on it
    assert {p.name for p in config.printers} == {"kitchen", "bar"}


def test_sample_hub_config_loads_with_secrets_from_the_environment():
    config = load_hub_config(PACKAGING / "config" / "hub.toml",
                             env={"TABLESIDE_HUB_OPERATOR_TOKEN": "x" * 32})
    assert config.database_url.startswith("postgresql+psycopg://") and config.shared_subscription


async def test_the_shipped_broker_config_loads_and_fences_agents_by_certificate(tmp_path):
    """packaging/mosquitto as shipped (paths and ports aside), on a real Mosquitto; every rule it
    enforces is tested in tests/hub/enrollment/test_broker_tls.py."""
    from tests.hub.enrollment.tls_broker import issue, tls_broker

    with tls_broker(tmp_path) as broker:
        agent = issue(broker.ca, "agt-a", tmp_path / "a")
        assert await broker.handshake(*agent) == "accepted"
        async with broker.hub_client() as hub:
            await hub.subscribe("$share/hub/tableside/v1/up/+/+", qos=1)
            async with broker.agent_client(*agent) as client:
                await client.publish("tableside/v1/up/agt-b/order.placed", b"forged", qos=1)
                await client.publish("tableside/v1/up/agt-a/order.placed", b"genuine", qos=1)
            async with asyncio.timeout(20):
                message = await anext(aiter(hub.messages))
        assert (str(message.topic), message.payload) == ("tableside/v1/up/agt-a/order.placed", b"genuine")
