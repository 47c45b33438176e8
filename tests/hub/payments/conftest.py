"""Fixtures: a hub app on SQLite or PostgreSQL, the Stripe stand-in, an agent with a signing key."""

import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract import pay_link
from contract.ids import uuid7
from hub.app import create_app
from hub.appkeys import STORE
from hub.config import HubConfig
from hub.payments.context import PAYMENTS
from hub.payments.stripe_provider import StripeProvider
from tests.hub.factories import TOKEN
from tests.services import free_port
from tests.standins.stripe import StripeStandIn

WEBHOOK_SECRET = "whsec_tableside_tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENT = "agent-pay-1"
PLAN = {"basis_points": 150, "fixed_minor": 10, "min_minor": None, "cap_minor": None, "fee_on_tips": False}


@dataclass
class Agent:
    agent_id: str
    key: Ed25519PrivateKey

    def link(self, amount_minor: int = 2000, tip_minor: int = 0, *, share_id: str | None = None,
             expires_in: int = 300, currency: str = "EUR", bill_id: str = "bill-1") -> tuple[str, pay_link.ShareToPay]:
        now = int(time.time())
        share = pay_link.ShareToPay(
            v=pay_link.VERSION, agent_id=self.agent_id, share_id=share_id or uuid7(), bill_id=bill_id,
            table_name="Table 4", currency=currency, amount_minor=amount_minor, tip_minor=tip_minor,
            description="Share of table 4", issued_at=now, expires_at=now + expires_in,
            return_url="http://agent.test/t/tok123")
        return pay_link.sign(share, self.key), share


@pytest.fixture
async def standin(aiohttp_server):
    stand_in = StripeStandIn(webhook_secret=WEBHOOK_SECRET)
    stand_in.server = await aiohttp_server(stand_in.app())
    return stand_in


def hub_config(tmp_path, database_url, **extra) -> HubConfig:
    # No broker listens on broker_port: the link retries in the background, harmlessly.
    return HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=free_port(),
                     database_url=database_url, reconcile_interval_s=3600, **extra)


@pytest.fixture
async def stripe_hub(aiohttp_client, tmp_path, database_url, standin):
    """The hub with Stripe pointed at the stand-in, webhooks delivered to it."""
    config = hub_config(tmp_path, database_url, stripe_secret_key="sk_test_tableside",
                        stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=str(standin.server.make_url("")))
    client = await aiohttp_client(create_app(config))
    # no retries: a 500 from the stand-in must surface at once in tests
    client.app[PAYMENTS].provider = StripeProvider("sk_test_tableside", config.stripe_api_base, max_network_retries=0)
    standin.webhook_url = str(client.make_url("/stripe/webhook"))
    return client


@pytest.fixture
async def demo_hub(aiohttp_client, tmp_path, database_url):
    return await aiohttp_client(create_app(hub_config(tmp_path, database_url)))


@pytest.fixture
def agent_key():
    return Ed25519PrivateKey.generate()


async def register_agent(client, agent_id: str = AGENT, key: Ed25519PrivateKey | None = None) -> Agent:
    key = key or Ed25519PrivateKey.generate()
    assert await client.app[STORE].remember_agent_key(agent_id, pay_link.public_key_text(key.public_key())) \
        == "stored"
    return Agent(agent_id, key)


async def create_restaurant(client, *, agent_ids=(AGENT,), plan=None, currency="EUR", **extra) -> dict:
    body = {"name": "Trattoria Test", "country": "DE", "currency": currency, "fee_plan": plan or PLAN,
            "agent_ids": list(agent_ids), **extra}
    resp = await client.post("/api/v1/restaurants", json=body, headers=AUTH)
    assert resp.status == 201, await resp.text()
    return await resp.json()
