"""A hub on another machine than its broker logs in over TLS (`[broker] tls`, `cafile`): the link
and `tableside hub check` reach a real Mosquitto whose password listener takes TLS only, and they
are refused when they speak plain MQTT to it or trust only the system's CAs."""

import asyncio
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.app import create_app
from hub.appkeys import LINK
from hub.check import check
from hub.config import HubConfig
from hub.enrollment.ca import CertificateAuthority, pem
from tableside.serve import Server
from tests.hub.enrollment.tls_broker import HUB_PASSWORD, HUB_USER, private_key_pem
from tests.hub.factories import TOKEN
from tests.services import Mosquitto

pytestmark = pytest.mark.service


@pytest.fixture
def tls_login_broker(tmp_path):
    """Mosquitto whose one listener is TLS with the hub's password login; (broker, its CA file)."""
    ca = CertificateAuthority.open(tmp_path / "broker-ca", name="Broker CA")
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "server.key").write_bytes(private_key_pem(key))
    (tmp_path / "server.crt").write_text(pem(ca.issue_server(key.public_key(), ["127.0.0.1"], 1)))
    (tmp_path / "ca.crt").write_text(ca.cert_pem)
    passwd = tmp_path / "hub.passwd"
    passwd.touch(mode=0o600)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), HUB_USER, HUB_PASSWORD], check=True, capture_output=True)
    broker = Mosquitto(anonymous=False, extra_config=(
        f"certfile {tmp_path / 'server.crt'}\nkeyfile {tmp_path / 'server.key'}\n"
        f"password_file {passwd}\n"))
    broker.start()
    try:
        yield broker, tmp_path / "ca.crt"
    finally:
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


def _config(tmp_path, port: int, **broker) -> HubConfig:
    return HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=port,
                     broker_username=HUB_USER, broker_password=HUB_PASSWORD, **broker)


def _broker_finding(findings):
    return next(f for f in findings if f.what == "broker")


async def test_the_hub_reaches_its_broker_over_tls_and_check_says_so(tmp_path, tls_login_broker):
    broker, ca_file = tls_login_broker
    config = _config(tmp_path, broker.port, broker_tls=True, broker_cafile=ca_file)
    assert _broker_finding(await check(config)).ok
    hub = await Server(create_app(config), "127.0.0.1", 0).start()
    try:
        async with asyncio.timeout(20):
            await hub.app[LINK].wait_connected()
    finally:
        await hub.stop()


async def test_plain_mqtt_or_an_unknown_ca_is_refused(tmp_path, tls_login_broker):
    broker, _ = tls_login_broker
    plain = _broker_finding(await check(_config(tmp_path, broker.port)))
    assert not plain.ok and "refused the hub's login or did not answer" in plain.detail
    system_cas = _broker_finding(await check(_config(tmp_path, broker.port, broker_tls=True)))
    assert not system_cas.ok and "CERTIFICATE_VERIFY_FAILED" in system_cas.detail
