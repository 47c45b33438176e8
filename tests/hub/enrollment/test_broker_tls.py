"""The shipped Mosquitto config on a real broker with TLS: the broker itself fences each agent's
topics and client id by its certificate, refuses certificates the hub did not issue or revoked,
and an operator's revoke drops a live connection.

What "does not arrive" means here is never a timeout: a denied message is sent first and an
allowed one after it on the same connection; MQTT keeps one client's messages in order, so once
the allowed one is in, the denied one would have been too.
"""

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from agent.app import create_app as create_agent_app
from agent.config import load_config as load_agent_config
from agent.state import STATE
from agent.visits import tables
from hub.config import load_config
from hub.enrollment import crl
from hub.enrollment.ca import CertificateAuthority, pem
from hub.store import migrate
from hub.store.engine import make_engine
from tableside.serve import Server
from tests.hub.enrollment.tls_broker import (
    HUB_USER,
    PACKAGING,
    enroll,
    issue,
    new_restaurant,
    private_key_pem,
    running_hub,
    tls_broker,
)
from tests.hub.factories import TOKEN
from tests.waiting import eventually

pytestmark = pytest.mark.service

WAIT_S = 20.0  # generous for a loaded machine; every wait ends as soon as its condition holds
REVOKE_DEADLINE_S = 60.0  # the issue's bound for a revoke to drop the live connection


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT_S):
        return await anext(aiter(client.messages))


async def until(client: aiomqtt.Client, topic: str) -> list[str]:
    """Topics received up to and including `topic`."""
    seen: list[str] = []
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            seen.append(str(message.topic))
            if seen[-1] == topic:
                return seen
    raise AssertionError("the message iterator ended")


async def dropped(client: aiomqtt.Client) -> None:
    """Until the broker closes `client`'s connection (its messages end in an MqttError), within
    the issue's minute."""
    with pytest.raises(aiomqtt.MqttError):
        async with asyncio.timeout(REVOKE_DEADLINE_S):
            async for _ in client.messages:
                pass




@pytest.fixture
def broker(tmp_path):
    with tls_broker(tmp_path) as b:
        yield b


async def test_an_agent_writes_only_its_own_up_topics(broker, tmp_path):
    a = issue(broker.ca, "agt-a", tmp_path / "a")
    async with broker.hub_client() as hub:
        await hub.subscribe("$share/hub/tableside/v1/up/+/+", qos=1)
        async with broker.agent_client(*a, identifier="anything") as agent:
            await agent.publish("tableside/v1/up/agt-b/order.placed", b"forged", qos=1)
            await agent.publish("tableside/v1/down/agt-a/ack", b"to itself", qos=1)
            await agent.publish("tableside/v1/up/agt-a/order.placed", b"genuine", qos=1)
        assert await until(hub, "tableside/v1/up/agt-a/order.placed") == ["tableside/v1/up/agt-a/order.placed"]
    assert "Denied PUBLISH from agt-a" in broker.log() and "'tableside/v1/up/agt-b/order.placed'" in broker.log()


async def test_an_agent_reads_only_its_own_down_topics(broker, tmp_path):
    a, b = issue(broker.ca, "agt-a", tmp_path / "a"), issue(broker.ca, "agt-b", tmp_path / "b")
    async with broker.agent_client(*a) as agent_a, broker.agent_client(*b) as agent_b:
        await agent_a.subscribe("tableside/v1/#", qos=1)  # asks for everything
        await agent_b.subscribe("tableside/v1/down/agt-b/+", qos=1)
        async with broker.hub_client() as hub:
            await hub.publish("tableside/v1/down/agt-b/payment.taken", b"b's", qos=1)
            await hub.publish("tableside/v1/down/agt-a/ack", b"a's", qos=1)
        assert str((await next_message(agent_b)).topic) == "tableside/v1/down/agt-b/payment.taken"
        assert await until(agent_a, "tableside/v1/down/agt-a/ack") == ["tableside/v1/down/agt-a/ack"]


async def test_no_one_connects_with_another_agents_client_id_and_drops_it(broker, tmp_path):
    a, b = issue(broker.ca, "agt-a", tmp_path / "a"), issue(broker.ca, "agt-b", tmp_path / "b")
    async with broker.hub_client(identifier="hub-worker-1") as hub:
        await hub.subscribe("$share/hub/tableside/v1/up/+/+", qos=1)
        async with broker.agent_client(*b, identifier="agt-b") as victim:
            await victim.subscribe("tableside/v1/down/agt-b/+", qos=1)
            # A asks for B's client id, then for the hub worker's: the broker gives it its own
            for stolen in ("agt-b", "tableside-agent-agt-b", "hub-worker-1"):
                async with broker.agent_client(*a, identifier=stolen) as thief:
                    await thief.publish("tableside/v1/up/agt-a/presence", stolen.encode(), qos=1)
                assert (await next_message(hub)).payload == stolen.encode()  # the hub is still connected
            # and B still is: it publishes and receives on the connection it had all along
            await victim.publish("tableside/v1/up/agt-b/presence", b"still here", qos=1)
            assert (await next_message(hub)).payload == b"still here"
            await hub.publish("tableside/v1/down/agt-b/ack", b"for b", qos=1)
            assert (await next_message(victim)).payload == b"for b"
    assert "as agt-a (p2" in broker.log() and "as agt-b (p2" in broker.log()


async def test_certificates_the_hub_did_not_issue_are_refused(broker, tmp_path):
    assert await broker.handshake(*issue(broker.ca, "agt-a", tmp_path / "a")) == "accepted"
    stranger = CertificateAuthority.open(tmp_path / "other-ca")
    assert await broker.handshake(*issue(stranger, "agt-a", tmp_path / "stranger")) == "TLSV1_ALERT_UNKNOWN_CA"
    # the hub's own CA, but a server certificate (serverAuth only) offered as a client's
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "srv.key").write_bytes(private_key_pem(key))
    (tmp_path / "srv.crt").write_text(pem(broker.ca.issue_server(key.public_key(), ["agt-b"], 1)))
    assert await broker.handshake(tmp_path / "srv.key", tmp_path / "srv.crt") == "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE"
    # no certificate at all
    assert await broker.handshake(None, None) == "SSLV3_ALERT_HANDSHAKE_FAILURE"
    # an expired one of our own
    key_file, cert_file = issue(broker.ca, "agt-c", tmp_path / "old", days=1,
                                now=datetime.now(UTC) - timedelta(days=2))
    assert await broker.handshake(key_file, cert_file) == "SSLV3_ALERT_CERTIFICATE_EXPIRED"
    # and the hub's listener wants the hub's password
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.hub_port, username=HUB_USER, password="guess", timeout=WAIT_S):
            pass


# --- with a running hub: revocation reaches the broker ----------------------------------------

@pytest.fixture
def hub_ca_broker(tmp_path):
    """A broker that trusts the CA the hub will use (its directory made first, as `tableside hub
    broker-cert` does on a real install)."""
    with tls_broker(tmp_path, CertificateAuthority.open(tmp_path / "ca")) as b:
        yield b


async def test_a_revoke_drops_the_live_connection_and_the_agent_cannot_come_back(hub_ca_broker, tmp_path):
    broker = hub_ca_broker
    async with running_hub(tmp_path, broker) as hub:
        http = hub.http
        rid = await new_restaurant(http)
        revoked_id, *revoked = await enroll(http, rid, tmp_path / "revoked")
        kept_id, *kept = await enroll(http, rid, tmp_path / "kept")
        async with broker.agent_client(*revoked) as doomed, broker.agent_client(*kept) as bystander:
            await doomed.subscribe(f"tableside/v1/down/{revoked_id}/+", qos=1)
            await bystander.subscribe(f"tableside/v1/down/{kept_id}/+", qos=1)
            reloads, started = broker.reloads(), time.monotonic()
            resp = await http.post(f"/api/v1/agents/{revoked_id}/revoke", json={"reason": "stolen box"})
            assert resp.status == 200, await resp.text()
            await dropped(doomed)
            print(f"revoke to dropped connection: {time.monotonic() - started:.2f}s")
            # the bystander was never dropped: the same connection still receives
            async with broker.hub_client() as hub:
                await hub.publish(f"tableside/v1/down/{kept_id}/ack", b"still yours", qos=1)
            assert (await next_message(bystander)).payload == b"still yours"
        # at reconnect the broker's handshake refuses the revoked certificate, not the other
        await broker.reloaded(reloads)
        assert await broker.handshake(*revoked) == "SSLV3_ALERT_CERTIFICATE_REVOKED"
        assert await broker.handshake(*kept) == "accepted"


async def test_a_replaced_box_is_locked_out_when_the_new_one_pairs(hub_ca_broker, tmp_path):
    broker = hub_ca_broker
    async with running_hub(tmp_path, broker) as hub:
        http = hub.http
        rid = await new_restaurant(http)
        old_id, *old = await enroll(http, rid, tmp_path / "old")
        async with broker.agent_client(*old) as old_box:
            await old_box.subscribe(f"tableside/v1/down/{old_id}/+", qos=1)
            reloads = broker.reloads()
            new_id, *new = await enroll(http, rid, tmp_path / "new", replaces=True)
            await dropped(old_box)
        await broker.reloaded(reloads)
        assert await broker.handshake(*old) == "SSLV3_ALERT_CERTIFICATE_REVOKED"
        async with broker.hub_client() as hub:
            await hub.subscribe("tableside/v1/up/+/+", qos=1)  # not $share/hub: the running hub has that
            async with broker.agent_client(*new) as new_box:
                await new_box.publish(f"tableside/v1/up/{new_id}/presence", b"new box", qos=1)
            assert str((await next_message(hub)).topic) == f"tableside/v1/up/{new_id}/presence"
        assert new_id != old_id


async def test_the_crl_job_re_signs_a_stale_crl_before_the_broker_locks_everyone_out(hub_ca_broker, tmp_path):
    broker = hub_ca_broker
    agent = issue(broker.ca, "agt-a", tmp_path / "a")
    # why it matters: a CRL past its nextUpdate refuses every certificate, revoked or not
    long_ago = datetime.now(UTC) - timedelta(days=2)
    broker.crl_path.write_text(pem(broker.ca.crl([], days=1, now=long_ago)))
    await broker.reload()
    assert await broker.handshake(*agent) == "SSLV3_ALERT_CERTIFICATE_EXPIRED"

    config = load_config(None, {"TABLESIDE_HUB_DATA_DIR": str(tmp_path / "hub"), "TABLESIDE_HUB_OPERATOR_TOKEN": TOKEN,
                                "TABLESIDE_HUB_CA_DIR": str(tmp_path / "ca"),
                                "TABLESIDE_HUB_CA_CRL_PATH": str(broker.crl_path),
                                "TABLESIDE_HUB_CA_ON_CRL_CHANGE": f"kill -HUP {broker.pid}"})
    config.data_dir.mkdir()
    await asyncio.to_thread(migrate, config.database_url)
    engine = make_engine(config.database_url, pool_size=2)
    # not yet past nextUpdate but with less than half of [ca] crl_days left: due too
    broker.crl_path.write_text(pem(broker.ca.crl([], days=2)))
    assert crl.due(broker.crl_path, config.crl_days)
    reloads = broker.reloads()
    job = asyncio.create_task(crl.keep_fresh(broker.ca, engine, config, check_every=0.1))
    try:
        await eventually(lambda: not crl.due(broker.crl_path, config.crl_days), within=WAIT_S, what="a fresh CRL")
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
        engine.dispose()
    fresh = x509.load_pem_x509_crl(broker.crl_path.read_bytes())
    assert fresh.next_update_utc - datetime.now(UTC) > timedelta(days=config.crl_days) - timedelta(minutes=1)
    assert fresh.is_signature_valid(broker.ca.cert.public_key())
    # the job ran on_crl_change, so the broker reads the fresh CRL: the agent is let in again
    await broker.reloaded(reloads)
    assert await broker.handshake(*agent) == "accepted"


async def test_a_box_set_up_by_the_installer_orders_over_tls(hub_ca_broker, tmp_path):
    """`tableside agent setup` as a subprocess, then the agent as it starts on the box: over TLS
    with its own certificate, its order reaches the hub."""
    broker = hub_ca_broker
    async with running_hub(tmp_path, broker) as hub:
        rid = await new_restaurant(hub.http)
        made = await hub.http.post(f"/api/v1/restaurants/{rid}/enrollment-codes", json={})
        code = (await made.json())["code"]
        data_dir = tmp_path / "box"
        config_file = tmp_path / "agent.toml"
        config_file.write_text(f'[agent]\ndata_dir = "{data_dir}"\n[[tables]]\nname = "Table 1"\n'
                               f'[pos]\nkind = "simulator"\noptions = {{path = "{tmp_path / "pos.jsonl"}"}}\n')
        setup = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tableside.cli", "agent", "setup", "--config", str(config_file), "--pair-only",
            "--hub", str(hub.server.url), "--code", code, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await setup.communicate()
        assert setup.returncode == 0, err.decode()
        assert f"127.0.0.1:{broker.agents_port} over TLS" in out.decode()

        config = load_agent_config(config_file, {})
        agent = await Server(create_agent_app(config), "127.0.0.1", 0).start()
        try:
            state = agent.app[STATE]
            await eventually(lambda: state.link.connected, within=WAIT_S, what="the link up over TLS")
            assert f"as {config.agent.id} (" in broker.log()
            token = {t.name: t.token for t in await state.database.read(tables.all_tables)}["Table 1"]
            async with aiohttp.ClientSession(base_url=agent.url) as diner, \
                    diner.post(f"/api/v1/tables/{token}/orders", json={"lines": [{"item_id": "creme-brulee", "qty": 1}]},
                               headers={"Idempotency-Key": "installer-order-1"}) as resp:
                assert resp.status == 201, await resp.text()
                order = (await resp.json())["order"]

            async def at_hub():
                async with hub.http.get(f"/api/v1/orders/{order['id']}") as got:
                    return (await got.json()) if got.status == 200 else None
            held = await eventually(at_hub, within=WAIT_S, what="the order at the hub")
            assert held["agent_id"] == config.agent.id and held["total_minor"] == order["total_minor"]
        finally:
            await agent.stop()


async def test_the_revoke_hook_says_when_it_could_not_drop_an_agent(broker, tmp_path):
    """kick_revoked.py exits 1 and names the agent when the broker refuses it (a wrong password
    here), so the hub logs `ca.on_revoke exited 1`; an id that is not an agent id is refused."""
    config_file = tmp_path / "hub.toml"
    config_file.write_text(f'[hub]\ndata_dir = "{tmp_path}"\noperator_token = "{TOKEN}"\n'
                           f'[broker]\nport = {broker.hub_port}\nusername = "{HUB_USER}"\npassword = "wrong"\n')

    async def hook(agents: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(PACKAGING / "kick_revoked.py"), "--config", str(config_file),
            env={**os.environ, "TABLESIDE_REVOKED_AGENTS": agents},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await process.communicate()
        return process.returncode, out.decode()

    status, out = await hook("agt-a")
    assert status == 1 and "not dropped: agt-a" in out
    status, out = await hook("agt-a tableside/v1/#")
    assert status == 2 and "agent id" in out
