"""The agent renews its TLS certificate with a third of its lifetime left: over the hub's HTTP API,
proved by its current key, with back-off while the hub is away; its link reconnects on the new
certificate (shown on a real Mosquitto whose CRL then refuses the old one)."""

import asyncio
import dataclasses
import logging
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import update

from agent.app import create_app as create_agent_app
from agent.backup import hub_client
from agent.backup.service import credentials_of
from agent.config import load_config as load_agent_config
from agent.link.pairing import csr_for, pair, write_cert_generation
from agent.link.renewal import Files, Renewal, RenewalFailed, renew_at
from agent.paired import PairingError
from agent.state import STATE
from agent.visits import tables
from contract import envelope
from hub.app import create_app as create_hub_app
from hub.appkeys import ENROLLMENT, STORE
from hub.config import HubConfig
from hub.enrollment import records
from hub.enrollment.ca import CertificateAuthority, pem
from hub.store.enrollment_tables import agent_certificates
from tableside.serve import Server
from tests.hub.enrollment.helpers import AUTH
from tests.hub.enrollment.tls_broker import new_restaurant, private_key_pem, running_hub, tls_broker
from tests.hub.factories import TOKEN
from tests.services import free_port
from tests.waiting import eventually

WAIT_S = 20.0
LINES = [{"item_id": "creme-brulee", "qty": 1}]


def test_a_certificate_is_renewed_in_the_last_third_of_its_life(tmp_path):
    ca = CertificateAuthority.open(tmp_path / "ca")
    csr = x509.load_pem_x509_csr(csr_for(ec.generate_private_key(ec.SECP256R1())).encode())
    now = datetime.now(UTC)
    cert = ca.issue_client(csr, "agt-x", 90, now)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert renew_at(cert) == cert.not_valid_after_utc - lifetime / 3  # 30 days before the end of 90
    renewal = Renewal(tmp_path / "link", "http://127.0.0.1:1", lambda: None)
    renewal.expires_at, renewal.renews_at = cert.not_valid_after_utc, renew_at(cert)
    assert renewal.status(now)["state"] == "ok"
    assert renewal.status(now + timedelta(days=61))["state"] == "due"
    assert renewal.status(now + timedelta(days=91))["state"] == "expired"


async def _paired_box(hub: Server, data_dir: Path) -> str:
    """`tableside agent setup`'s pairing against `hub`; the agent id."""
    async with aiohttp.ClientSession(base_url=hub.url, headers=AUTH) as http:
        rid = await new_restaurant(http)
        made = await http.post(f"/api/v1/restaurants/{rid}/enrollment-codes", json={})
        code = (await made.json())["code"]
    return (await asyncio.to_thread(pair, data_dir, hub.url, code)).agent_id


async def _backdate(hub: Server, link_dir: Path, agent_id: str) -> x509.Certificate:
    """Replace the box's certificate by one on the same key that the hub issued 0.8 of a day
    ago for a day: in its last third, still valid, and known to the hub (as after ~60 days)."""
    key, _ = await asyncio.to_thread(Files(link_dir).read)
    ca = await hub.app[ENROLLMENT].ca()
    now = datetime.now(UTC)
    cert = ca.issue_client(x509.load_pem_x509_csr(csr_for(key).encode()), agent_id, 1, now - timedelta(days=0.8))

    def record() -> None:
        with hub.app[STORE].engine.begin() as conn:
            records.record_certificate(conn, agent_id, cert.serial_number, cert.not_valid_before_utc,
                                       cert.not_valid_after_utc, now)
    await asyncio.to_thread(record)
    await asyncio.to_thread(write_cert_generation, link_dir, key, pem(cert))
    return cert


def _serial_in_use(link_dir: Path) -> int:
    return x509.load_pem_x509_certificate((link_dir / "current" / "agent.crt").read_bytes()).serial_number


async def test_renewal_retries_with_back_off_until_the_hub_answers(tmp_path, caplog):
    hub = await Server(create_hub_app(HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN,
                                                broker_port=free_port())), "127.0.0.1", 0).start()
    try:
        agent_id = await _paired_box(hub, tmp_path / "box")
        link_dir = tmp_path / "box" / "link"
        old = await _backdate(hub, link_dir, agent_id)
        renewed = asyncio.Event()
        # first the hub is out of reach (nothing listens there)
        renewal = Renewal(link_dir, f"http://127.0.0.1:{free_port()}", renewed.set, retry_start=0.05, retry_max=0.2)
        task = asyncio.create_task(renewal.run())
        try:
            with caplog.at_level(logging.WARNING, logger="agent.link.renewal"):
                await eventually(lambda: renewal.failures >= 3, within=WAIT_S, what="three failed tries")
            status = renewal.status()
            assert status["state"] == "due" and "cannot reach the hub" in status["last_error"]
            assert "certificate not renewed; trying again" in caplog.text
            assert _serial_in_use(link_dir) == old.serial_number and not renewed.is_set()
            # then it is back: the next try renews
            renewal.hub_url = hub.url
            async with asyncio.timeout(WAIT_S):
                await renewed.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        key, new = Files(link_dir).read()
        assert new.serial_number != old.serial_number and new.not_valid_after_utc > old.not_valid_after_utc
        assert new.public_key().public_numbers() != old.public_key().public_numbers()  # a new key too
        assert key.public_key().public_numbers() == new.public_key().public_numbers()
        assert (link_dir / "current" / "tls.key").stat().st_mode & 0o777 == 0o600
        assert renewal.status() | {"renewed_at": None} == {
            "state": "ok", "expires_at": new.not_valid_after_utc.isoformat(),
            "renews_at": renew_at(new).isoformat(), "renewed_at": None, "failures": 0, "last_error": None}
        # the current generation and the one before it are kept, older ones go
        assert len(list((link_dir / "certs").iterdir())) == 2
    finally:
        await hub.stop()


async def test_a_revoked_agent_is_refused_renewal_and_keeps_trying_loudly(tmp_path):
    hub = await Server(create_hub_app(HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN,
                                                broker_port=free_port())), "127.0.0.1", 0).start()
    try:
        agent_id = await _paired_box(hub, tmp_path / "box")
        link_dir = tmp_path / "box" / "link"
        old = await _backdate(hub, link_dir, agent_id)
        assert await hub.app[ENROLLMENT].revoke(agent_id)
        renewal = Renewal(link_dir, hub.url, lambda: None, retry_start=0.05, retry_max=0.2)
        task = asyncio.create_task(renewal.run())
        try:
            await eventually(lambda: renewal.failures >= 2, within=WAIT_S, what="two refusals")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert "HTTP 403" in renewal.last_error and "revoked" in renewal.last_error
        assert _serial_in_use(link_dir) == old.serial_number
    finally:
        await hub.stop()


@pytest.mark.service
async def test_the_agent_renews_and_its_link_reconnects_on_the_new_certificate(tmp_path):
    with tls_broker(tmp_path, CertificateAuthority.open(tmp_path / "ca")) as broker:
        async with running_hub(tmp_path, broker) as hub:
            data_dir = tmp_path / "box"
            agent_id = await _paired_box(hub.server, data_dir)
            link_dir = data_dir / "link"
            old = await _backdate(hub.server, link_dir, agent_id)
            config_file = tmp_path / "agent.toml"
            config_file.write_text(f'[agent]\ndata_dir = "{data_dir}"\n[[tables]]\nname = "Table 1"\n'
                                   f'[pos]\nkind = "simulator"\noptions = {{path = "{tmp_path / "pos.jsonl"}"}}\n')
            config = load_agent_config(config_file, {})
            assert config.broker.tls and config.broker.port == broker.agents_port
            presence: list[bool] = []  # what the hub hears of the agent's presence
            watcher = asyncio.create_task(_watch_presence(broker, agent_id, presence))
            agent = await Server(create_agent_app(config), "127.0.0.1", 0).start()
            try:
                state = agent.app[STATE]
                await eventually(lambda: state.renewal.renewed_at is not None, within=WAIT_S, what="renewed")
                assert _serial_in_use(link_dir) != old.serial_number
                # the renewal made the link reconnect by itself (on the new files: read at each connect)
                await eventually(lambda: broker.log().count(f"as {agent_id} (") >= 2 and state.link.connected,
                                 within=WAIT_S, what="the link reconnected after the renewal")
                # quietly: online again on the new connection, never offline in between
                await eventually(lambda: len(presence) >= 2, within=WAIT_S, what="presence from both connections")
                assert False not in presence

                # The hub revokes only the old certificate and drops the agent's connection: it
                # comes back, so it must be on the new certificate (the CRL lists the old one).
                connections = broker.log().count(f"as {agent_id} (")
                reloads = broker.reloads()
                await asyncio.to_thread(_revoke_serial, hub.server, old.serial_number)
                await hub.server.app[ENROLLMENT].revoked_changed([agent_id])
                await broker.reloaded(reloads)
                await eventually(lambda: broker.log().count(f"as {agent_id} (") > connections and state.link.connected,
                                 within=WAIT_S, what="the link back on the new certificate")
                old_files = link_dir / "certs" / format(old.serial_number, "x")
                assert await broker.handshake(old_files / "tls.key", old_files / "agent.crt") \
                    == "SSLV3_ALERT_CERTIFICATE_REVOKED"

                # and orders still reach the hub
                token = {t.name: t.token for t in await state.database.read(tables.all_tables)}["Table 1"]
                async with aiohttp.ClientSession(base_url=agent.url) as diner, \
                        diner.post(f"/api/v1/tables/{token}/orders", json={"lines": LINES},
                                   headers={"Idempotency-Key": "renewal-order-1"}) as resp:
                    assert resp.status == 201, await resp.text()
                    order = (await resp.json())["order"]

                async def at_hub():
                    async with hub.http.get(f"/api/v1/orders/{order['id']}") as got:
                        return got.status == 200
                await eventually(at_hub, within=WAIT_S, what="the order at the hub")
                async with aiohttp.ClientSession(base_url=agent.url) as monitor, monitor.get("/healthz") as resp:
                    certificate = (await resp.json())["link"]["certificate"]
                assert certificate["state"] == "ok" and certificate["renewed_at"] is not None
                new = x509.load_pem_x509_certificate((link_dir / "current" / "agent.crt").read_bytes())
                assert certificate["expires_at"] == new.not_valid_after_utc.isoformat()
            finally:
                await agent.stop()
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)


async def _watch_presence(broker, agent_id: str, seen: list[bool]) -> None:
    """Every presence the agent publishes, as a subscriber with the hub's rights sees it."""
    async with broker.hub_client(identifier="presence-watcher") as hub:
        await hub.subscribe(f"tableside/v1/up/{agent_id}/presence", qos=1)
        async for message in hub.messages:
            seen.append(envelope.decode_data(envelope.decode(message.payload)).online)


def _revoke_serial(hub: Server, serial: int) -> None:
    with hub.app[STORE].engine.begin() as conn:
        conn.execute(update(agent_certificates).where(agent_certificates.c.serial == format(serial, "x"))
                     .values(revoked_at=datetime.now(UTC), reason="test: the old certificate only"))


def _private_web_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA of the hub operator's own (not in the system's store) and the hub's HTTPS context."""
    web_ca = CertificateAuthority.open(tmp_path / "web-ca", name="Operator's private web CA")
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "hub.crt").write_text(pem(web_ca.issue_server(key.public_key(), ["127.0.0.1"], 1)))
    (tmp_path / "hub.key").write_bytes(private_key_pem(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "hub.crt", tmp_path / "hub.key")
    ca_file = tmp_path / "private-ca.crt"
    ca_file.write_text(web_ca.cert_pem)
    return ca_file, context


async def test_a_box_paired_with_a_private_hub_ca_keeps_using_it_to_renew_and_back_up(tmp_path):
    ca_file, server_context = _private_web_ca(tmp_path)
    hub = await Server(create_hub_app(HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN,
                                                broker_port=free_port())), "127.0.0.1", 0,
                       ssl_context=server_context).start()
    try:
        trusting = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_file))
        async with aiohttp.ClientSession(base_url=hub.url, headers=AUTH, connector=trusting) as http:
            rid = await new_restaurant(http)
            code = (await (await http.post(f"/api/v1/restaurants/{rid}/enrollment-codes", json={})).json())["code"]
        with pytest.raises(PairingError, match="--hub-ca"):  # a CA file that is not there: nothing sent
            await asyncio.to_thread(pair, tmp_path / "box", hub.url, code, hub_cafile=tmp_path / "missing.crt")
        assert not (tmp_path / "box" / "link").exists()
        pairing = await asyncio.to_thread(pair, tmp_path / "box", hub.url, code, hub_cafile=ca_file)
        assert pairing.hub_cafile is not None and pairing.hub_cafile.read_text() == ca_file.read_text()
        old = await _backdate(hub, pairing.link_dir, pairing.agent_id)

        # with the system's CAs only (what renewal did before) the hub's certificate is refused
        blind = Renewal(pairing.link_dir, hub.url, lambda: None)
        with pytest.raises(RenewalFailed, match="cannot reach the hub"):
            await blind.renew_once()
        renewed = asyncio.Event()
        await Renewal(pairing.link_dir, hub.url, renewed.set, hub_cafile=pairing.hub_cafile).renew_once()
        assert renewed.is_set() and _serial_in_use(pairing.link_dir) != old.serial_number

        # the backup calls sign as the box and check the hub with the same CA
        assert await asyncio.to_thread(hub_client.list_remote, pairing.hub_url, credentials_of(pairing),
                                       pairing.agent_id) == []
        blind_signer = dataclasses.replace(credentials_of(pairing), hub_cafile=None)
        with pytest.raises(hub_client.HubUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            await asyncio.to_thread(hub_client.list_remote, pairing.hub_url, blind_signer, pairing.agent_id)
    finally:
        await hub.stop()
