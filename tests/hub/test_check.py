"""`tableside hub check`: each thing a hub install needs, found or said missing, against real parts
(a migrated database, a real Mosquitto, the Stripe stand-in that validates against Stripe's spec)."""

import subprocess
import sys

import pytest

from hub.check import check, report
from hub.config import HubConfig
from hub.store import migrate
from tests.hub.factories import TOKEN
from tests.services import free_port
from tests.standins.stripe import StripeStandIn

pytestmark = pytest.mark.service
WEBHOOK_SECRET = "whsec_hub_check"


@pytest.fixture
async def standin(aiohttp_server):
    stand_in = StripeStandIn(webhook_secret=WEBHOOK_SECRET)
    stand_in.server = await aiohttp_server(stand_in.app())
    return stand_in


async def test_a_complete_install_passes_every_check(tmp_path, broker, standin):
    config = HubConfig(data_dir=tmp_path, operator_token=TOKEN, broker_port=broker.port,
                       public_url="https://hub.example.com", stripe_secret_key="sk_test_tableside",
                       stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=str(standin.server.make_url("")))
    migrate(config.database_url)
    findings = await check(config)
    assert [(f.what, f.ok) for f in findings] == [("database", True), ("broker", True), ("stripe", True),
                                                  ("public_url", True)], report(findings)
    assert "Everything is in place." in report(findings)
    assert any(r.path == "/v1/events" for r in standin.requests)  # the key was really tried


async def test_what_is_missing_is_named(tmp_path, standin):
    config = HubConfig(data_dir=tmp_path, operator_token=TOKEN, broker_port=free_port(),  # nobody listens
                       stripe_secret_key="sk_test_wrong", stripe_webhook_secret=WEBHOOK_SECRET,
                       stripe_api_base=str(standin.server.make_url("")))
    standin.api_key = "sk_test_the_right_one"
    found = {f.what: f for f in await check(config)}  # the database was never migrated
    assert not any(f.ok for f in found.values())
    assert "is at migration none" in found["database"].detail
    assert "did not answer" in found["broker"].detail
    assert "the key was refused" in found["stripe"].detail and "sk_test_wrong" not in found["stripe"].detail
    assert "is not https" in found["public_url"].detail


def test_the_command_exits_1_and_says_so(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\ndata_dir = "{tmp_path}"\noperator_token = "{TOKEN}"\n[broker]\nport = {free_port()}\n')
    done = subprocess.run([sys.executable, "-m", "tableside.cli", "hub", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "FAIL  database" in done.stdout and "demo provider" in done.stdout
    assert "4 to fix" in done.stdout
