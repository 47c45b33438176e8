"""The `tableside` command as an installer or operator runs it."""

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request

from tests.services import free_port, wait_for_port


def tableside(*args, env=None, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "tableside.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}, **kwargs)


def test_bad_config_names_the_key_and_exits_2(tmp_path):
    bad = tmp_path / "agent.toml"
    bad.write_text("[broker]\nport = 'x'\n")
    proc = tableside("agent", "run", "--config", str(bad))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "broker.port" in out and "Traceback" not in out

    proc = tableside("hub", "run", env={"TABLESIDE_HUB_DATA_DIR": str(tmp_path), "TABLESIDE_HUB_OPERATOR_TOKEN": "short"})
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "operator_token" in out and "short" not in out.split("operator_token", 1)[1]


def test_agent_and_hub_serve_until_sigterm(tmp_path):
    agent_port, hub_port = free_port(), free_port()
    procs = [
        tableside("agent", "run", env={"TABLESIDE_AGENT_DATA_DIR": str(tmp_path / "agent"),
                                       "TABLESIDE_AGENT_HTTP_PORT": str(agent_port),
                                       "TABLESIDE_AGENT_BROKER_PORT": str(free_port())}),
        tableside("hub", "run", env={"TABLESIDE_HUB_DATA_DIR": str(tmp_path / "hub"),
                                     "TABLESIDE_HUB_OPERATOR_TOKEN": "t" * 32,
                                     "TABLESIDE_HUB_HTTP_PORT": str(hub_port),
                                     "TABLESIDE_HUB_BROKER_PORT": str(free_port())}),
    ]
    try:
        for port, proc in zip((agent_port, hub_port), procs, strict=True):
            wait_for_port(port, timeout=30, alive=proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                assert resp.status == 200
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0, out
            assert "Traceback" not in out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


async def _run(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tableside.cli", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


async def test_installer_tools_against_the_emulator(tmp_path, emulator):
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path}"\n'
                      f'[[printers]]\nname = "kitchen"\noptions = {{ host = "127.0.0.1", port = {emulator.port} }}\n'
                      f'[[printers]]\nname = "bar"\nstations = ["bar"]\n'
                      f'options = {{ host = "127.0.0.1", port = {free_port()}, timeout = 1 }}\n'
                      f'[pos]\nkind = "simulator"\n')
    code, out = await _run("printer", "test", "kitchen", "--config", str(config))
    assert code == 0 and "status before: online" in out, out
    [ticket] = await emulator.wait_for_tickets(1)
    assert "TEST PAGE" in ticket and "Crème brûlée, Größe, €" in ticket  # the code page prints them

    code, out = await _run("printer", "test", "bar", "--config", str(config))
    assert code == 1 and "switched on" in out and "Traceback" not in out
    code, out = await _run("printer", "test", "fax", "--config", str(config))
    assert code == 2 and "configured printers: kitchen, bar" in out

    code, out = await _run("printer", "list", "--config", str(config))
    assert code == 0 and "kitchen" in out and "online" in out and "offline" in out, out
    code, out = await _run("pos", "check", "--config", str(config))
    assert code == 0 and out.startswith("POS:"), out


async def test_staff_reprint_a_ticket_that_was_cut_off(aiohttp_client, tmp_path, emulator):
    """The printer hung up mid-ticket: the agent held it; `tableside jobs reprint` prints it again,
    marked REPRINT, while the agent runs."""
    from agent.app import create_app
    from tests.agent.helpers import count, make_config, place, table_tokens
    from tests.waiting import eventually

    data_dir = tmp_path / "agent"
    config_file = tmp_path / "agent.toml"
    config_file.write_text(f'[agent]\nid = "test-agent"\ndata_dir = "{data_dir}"\n')
    config = make_config(tmp_path, pos=False, printers=[
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": emulator.port}}])
    client = await aiohttp_client(create_app(config))
    emulator.fault = "drop_mid_ticket"
    await place(client, (await table_tokens(client))["Table 1"], [{"item_id": "onion-soup", "qty": 1}])
    held = "SELECT COUNT(*) FROM device_jobs WHERE status = 'held'"
    await eventually(lambda: _count_is(count(client, held), 1), within=15, what="ticket held")
    emulator.fault = None

    code, out = await _run("jobs", "list", "--config", str(config_file))
    assert code == 0 and "Table 1" in out and "partly printed" in out, out
    job_id = out.split()[0]
    code, out = await _run("jobs", "reprint", job_id, "--config", str(config_file))
    assert code == 0 and "new job" in out, out
    [ticket] = await emulator.wait_for_tickets(1, timeout=15)
    assert "REPRINT" in ticket and "French onion soup" in ticket
    code, out = await _run("jobs", "reprint", job_id, "--config", str(config_file))
    assert code == 2 and "not held" in out  # the same held ticket cannot be reprinted twice by mistake


async def _count_is(awaitable, expected):
    return await awaitable == expected
