"""`tableside agent setup` as an installer runs it: a subprocess against a running hub."""

import asyncio
import os
import sys

import aiohttp
from cryptography import x509
from cryptography.x509.oid import NameOID

from agent.config import load_config
from hub.app import create_app
from hub.config import HubConfig
from tableside.serve import Server
from tests.hub.factories import TOKEN
from tests.services import free_port

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def setup(config_path, *args) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tableside.cli", "agent", "setup", "--config", str(config_path), "--pair-only", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_setup_pairs_the_box_once_and_a_bad_code_changes_nothing(tmp_path):
    hub = await Server(create_app(HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN,
                                            broker_port=free_port())), "127.0.0.1", 0).start()
    data_dir = tmp_path / "box"
    config_path = tmp_path / "agent.toml"
    config_path.write_text(f'[agent]\ndata_dir = "{data_dir}"\n')
    try:
        async with aiohttp.ClientSession(headers=AUTH) as http:
            made = await http.post(f"{hub.url}/api/v1/restaurants", json={
                "name": "Brasserie Lumiere", "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": 150}})
            rid = (await made.json())["id"]

            async def new_code() -> str:
                return (await (await http.post(f"{hub.url}/api/v1/restaurants/{rid}/enrollment-codes")).json())["code"]

            code, status, out, err = None, *await setup(config_path, "--hub", hub.url, "--code", "ZZZZ-ZZZZ")
            assert status == 1 and "not valid" in err and "Nothing was changed" in err
            assert not data_dir.exists() or not any(data_dir.iterdir())

            code = await new_code()
            status, out, err = await setup(config_path, "--hub", hub.url, "--code", code)
            assert status == 0, err
            config = load_config(config_path, {})
            assert config.agent.id.startswith("agt-") and config.agent.id in out
            assert "Brasserie Lumiere" in out and config.hub.url == hub.url
            key = data_dir / "link" / "current" / "tls.key"
            assert key.stat().st_mode & 0o777 == 0o600
            cert = x509.load_pem_x509_certificate((data_dir / "link" / "current" / "agent.crt").read_bytes())
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == config.agent.id
            before = sorted(p.name for p in (data_dir / "link").iterdir())

            # paired already: says so, changes nothing, and the fresh code is not used up
            second = await new_code()
            status, out, err = await setup(config_path, "--hub", hub.url, "--code", second)
            assert status == 1 and "already paired" in err and config.agent.id in err
            assert load_config(config_path, {}).agent.id == config.agent.id
            assert sorted(p.name for p in (data_dir / "link").iterdir()) == before
            listed = await (await http.get(f"{hub.url}/api/v1/restaurants/{rid}/enrollment-codes")).json()
            assert [c["state"] for c in listed["codes"]] == ["active", "used"]

            # asked to, it pairs again under a new id and keeps its pay-link key
            pay_key = (data_dir / "agent_key.pem").read_bytes()
            status, out, err = await setup(config_path, "--hub", hub.url, "--code", second, "--re-pair")
            assert status == 0, err
            assert load_config(config_path, {}).agent.id != config.agent.id
            assert (data_dir / "agent_key.pem").read_bytes() == pay_key
    finally:
        await hub.stop()
