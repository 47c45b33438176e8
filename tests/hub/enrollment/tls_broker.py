"""A real Mosquitto run from the shipped packaging/mosquitto config, on free loopback ports, with
certificates from a hub CA made in the test.

Only paths and ports are rewritten (each rewrite must apply, so a change to the shipped file
that these tests no longer cover fails loudly), so what is tested is what is shipped.
"""

import asyncio
import contextlib
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.app import create_app
from hub.config import HubConfig, load_config
from hub.enrollment.ca import CertificateAuthority, pem
from tableside.serve import Server
from tests.hub.enrollment.helpers import AUTH, csr, enroll_body
from tests.hub.factories import TOKEN
from tests.services import Mosquitto, free_port, wait_for_port
from tests.waiting import eventually

PACKAGING = Path(__file__).resolve().parents[3] / "packaging" / "mosquitto"
SHIPPED_DIR = "/etc/mosquitto/tableside/"
HUB_USER = "tableside-hub"
HUB_PASSWORD = "hub-password-for-tests"
# MQTT 3.1.1 CONNECT: clean session, keepalive 60, an empty client id (the broker uses the CN)
MQTT_CONNECT = bytes.fromhex("100c00044d5154540402003c0000")
CONNACK_ACCEPTED = bytes.fromhex("20020000")


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def shipped_config(directory: Path, agents_port: int, hub_port: int) -> str:
    text = (PACKAGING / "tableside.conf").read_text()
    for old, new in ((SHIPPED_DIR, f"{directory}/"), ("listener 8883\n", f"listener {agents_port} 127.0.0.1\n"),
                     ("listener 1883 127.0.0.1\n", f"listener {hub_port} 127.0.0.1\n")):
        assert old in text, f"packaging/mosquitto/tableside.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class TlsBroker:
    """The broker and the files it reads; `ca` is the hub CA that signs everything here."""

    mosquitto: Mosquitto
    ca: CertificateAuthority
    files: Path
    hub_port: int

    @property
    def agents_port(self) -> int:
        return self.mosquitto.port

    @property
    def crl_path(self) -> Path:
        return self.files / "crl.pem"

    @property
    def pid(self) -> int:
        assert self.mosquitto.proc is not None
        return self.mosquitto.proc.pid

    def reloads(self) -> int:
        return self.log().count("Reloading config.")

    async def reloaded(self, after: int) -> None:
        """Until the broker has handled a SIGHUP beyond the first `after`: a connection it accepted
        just before still got the old CRL."""
        await eventually(lambda: self.reloads() > after, within=20, every=0.02, what="the broker's reload")

    async def reload(self) -> None:
        """SIGHUP to our own broker (by its pid): it rereads its CRL for new connections."""
        before = self.reloads()
        self.mosquitto.proc.send_signal(signal.SIGHUP)
        await self.reloaded(before)

    async def handshake(self, key_file: Path | None, cert_file: Path | None) -> str:
        """What the agents' listener says to this certificate: "accepted" (a CONNACK that lets it
        in) or the TLS alert it was refused with, e.g. "SSLV3_ALERT_CERTIFICATE_REVOKED". A
        refusal is read from the broker's answer, never inferred from a timeout.

        TLS 1.2 here, so a refusal comes within the handshake: under 1.3 the alert comes after it,
        and the broker's close can reset the connection before the alert is read. The broker's
        verification (chain, purpose, dates, CRL) is the same for both."""
        context = ssl.create_default_context(cafile=str(self.files / "ca.crt"))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        if cert_file is not None:
            context.load_cert_chain(str(cert_file), str(key_file))
        try:
            async with asyncio.timeout(20):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.agents_port, ssl=context)
                try:
                    writer.write(MQTT_CONNECT)
                    await writer.drain()
                    answer = await reader.readexactly(4)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError, ssl.SSLError):
                        await writer.wait_closed()
        except ssl.SSLError as exc:
            return exc.reason or str(exc)
        return "accepted" if answer == CONNACK_ACCEPTED else f"CONNACK {answer.hex()}"

    def log(self) -> str:
        return (self.mosquitto.dir / "log").read_text(errors="replace")

    def hub_client(self, identifier: str = "hub-test", **kwargs) -> aiomqtt.Client:
        return aiomqtt.Client("127.0.0.1", self.hub_port, identifier=identifier, username=HUB_USER,
                              password=HUB_PASSWORD, **kwargs)

    def agent_client(self, key_file: Path, cert_file: Path, identifier: str = "", **kwargs) -> aiomqtt.Client:
        return aiomqtt.Client("127.0.0.1", self.agents_port, identifier=identifier or None,
                              tls_params=aiomqtt.TLSParameters(ca_certs=str(self.files / "ca.crt"),
                                                               certfile=str(cert_file), keyfile=str(key_file),
                                                               cert_reqs=ssl.CERT_REQUIRED), **kwargs)


@contextlib.contextmanager
def tls_broker(tmp_path: Path, ca: CertificateAuthority | None = None) -> Iterator[TlsBroker]:
    """The shipped config on free ports; the broker's certificate, the CA and an empty CRL from
    `ca` (a fresh one by default), the hub's login in a password file made by mosquitto_passwd."""
    ca = ca or CertificateAuthority.open(tmp_path / "ca")
    files = tmp_path / "broker"
    files.mkdir()
    server_key = ec.generate_private_key(ec.SECP256R1())
    (files / "server.key").write_bytes(private_key_pem(server_key))
    (files / "server.crt").write_text(pem(ca.issue_server(server_key.public_key(), ["127.0.0.1", "localhost"], 30)))
    (files / "ca.crt").write_text(ca.cert_pem)
    (files / "crl.pem").write_text(pem(ca.crl([], days=7)))
    for acl in ("agents.acl", "hub.acl"):
        (files / acl).write_text((PACKAGING / acl).read_text())
    passwd = files / "hub.passwd"
    passwd.touch(mode=0o600)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), HUB_USER, HUB_PASSWORD], check=True, capture_output=True)

    broker = Mosquitto(port=free_port())
    hub_port = free_port()
    run_as = broker.config.read_text().count("user root")  # as tests/services.py does, when run as root
    broker.config.write_text(("user root\n" if run_as else "") + "log_type all\n"
                             + shipped_config(files, broker.port, hub_port))
    broker.start()
    try:
        wait_for_port(hub_port, alive=broker.proc)
        yield TlsBroker(broker, ca, files, hub_port)
    finally:
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


def issue(ca: CertificateAuthority, agent_id: str, where: Path, days: float = 1,
          now: datetime | None = None) -> tuple[Path, Path]:
    """A key and a client certificate for `agent_id`, as the hub issues them."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_client(x509.load_pem_x509_csr(csr(key).encode()), agent_id, days, now)
    where.mkdir(parents=True, exist_ok=True)
    (where / "tls.key").write_bytes(private_key_pem(key))
    (where / "agent.crt").write_text(pem(cert))
    return where / "tls.key", where / "agent.crt"


@dataclass
class RunningHub:
    config: HubConfig
    server: Server
    http: aiohttp.ClientSession  # the operator's: its token on every request


@contextlib.asynccontextmanager
async def running_hub(tmp_path: Path, broker: TlsBroker) -> AsyncIterator[RunningHub]:
    """The hub, from a hub.toml, on the broker's hub listener with the shipped hooks:
    on_crl_change reloads this broker (by its pid), on_revoke is packaging/mosquitto/kick_revoked.py.
    Agents are told the broker's TLS listener when they enroll."""
    config_file = tmp_path / "hub.toml"
    config_file.write_text(f"""
[hub]
data_dir = "{tmp_path / 'hub'}"
operator_token = "{TOKEN}"
[http]
port = 0
[broker]
port = {broker.hub_port}
username = "{HUB_USER}"
password = "{HUB_PASSWORD}"
[ca]
dir = "{tmp_path / 'ca'}"
crl_path = "{broker.crl_path}"
on_crl_change = "kill -HUP {broker.pid}"
on_revoke = "{sys.executable} {PACKAGING / 'kick_revoked.py'} --config {config_file}"
[enrollment]
broker_port = {broker.agents_port}
broker_tls = true
""")
    config = load_config(config_file, {})
    hub = await Server(create_app(config), "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession(base_url=hub.url, headers=AUTH) as http:
            yield RunningHub(config, hub, http)
    finally:
        await hub.stop()


async def new_restaurant(http: aiohttp.ClientSession) -> str:
    resp = await http.post("/api/v1/restaurants", json={
        "name": "Brasserie Lumiere", "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": 150}})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def enroll(http: aiohttp.ClientSession, restaurant_id: str, where: Path, replaces: bool = False):
    """A box paired through the hub's API: (agent id, key file, certificate file)."""
    made = await http.post(f"/api/v1/restaurants/{restaurant_id}/enrollment-codes", json={"replaces": replaces})
    code = (await made.json())["code"]
    key = ec.generate_private_key(ec.SECP256R1())
    resp = await http.post("/api/v1/enroll", json=enroll_body(code, csr=csr(key)))
    assert resp.status == 201, await resp.text()
    answer = await resp.json()
    return answer["agent_id"], *await asyncio.to_thread(_save, where, key, answer["certificate"])


def _save(where: Path, key: ec.EllipticCurvePrivateKey, cert_pem: str) -> tuple[Path, Path]:
    where.mkdir(parents=True)
    (where / "tls.key").write_bytes(private_key_pem(key))
    (where / "agent.crt").write_text(cert_pem)
    return where / "tls.key", where / "agent.crt"
