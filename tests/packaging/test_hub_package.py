"""The hub package in a Debian 12 root: installed, its files as documented, and the hub started as its
unit would (its ExecStart with two workers, its EnvironmentFile, its user) on PostgreSQL and a real
Mosquitto, answering /healthz with the link up; then purged."""

import json
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from tests.packaging.conftest import built
from tests.services import free_port, mosquitto, postgres_url, wait_for_port

# installing, booting and building take minutes on a loaded 2-core machine, not the suite's 2
pytestmark = pytest.mark.timeout(900)


def _environment_file(text_: str) -> dict[str, str]:
    """What systemd's EnvironmentFile= reads: KEY=VALUE lines, # comments."""
    pairs = (line.split("=", 1) for line in text_.splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        return json.load(answer)


def test_hub_package_installs_and_runs_as_its_unit(debian_root, tmp_path):
    root = debian_root
    deb = built("hub", "amd64")
    root.file(f"/tmp/{deb.name}").write_bytes(deb.read_bytes())
    root.run("dpkg", "-i", f"/tmp/{deb.name}", check=False)
    root.run("apt-get", "-f", "install", "-y", "-q", timeout=900)

    assert root.mode("/var/lib/tableside-hub") == (0o700, "tableside-hub", "tableside-hub")
    assert root.mode("/etc/tableside/hub.env") == (0o640, "root", "tableside-hub")
    assert root.mode("/etc/tableside/hub.toml") == (0o640, "root", "tableside-hub")
    assert sorted(root.file("/var/lib/dpkg/info/tableside-hub.conffiles").read_text().split()) == \
        ["/etc/tableside/hub.env", "/etc/tableside/hub.toml"]
    for example in ("nginx/tableside-hub.conf", "mosquitto/tableside.conf", "mosquitto/agents.acl",
                    "mosquitto/hub.acl", "polkit/50-tableside-hub.rules"):
        assert root.file(f"/usr/share/doc/tableside-hub/examples/{example}").is_file()
    # the on_revoke hook as docs/security.md writes it runs on the package's Python
    hook = root.run("/opt/tableside/bin/python", "/usr/share/tableside/mosquitto/kick_revoked.py", "--help",
                    user="tableside-hub", check=False)
    assert hook.returncode == 0 and "usage" in hook.stdout.lower(), hook.stdout + hook.stderr
    verified = subprocess.run(["systemd-analyze", "verify", f"--root={root.path}", "tableside-hub.service"],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr

    base = postgres_url()
    schema = f"pkg_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    port = free_port()
    try:
        with mosquitto() as broker:
            # the operator's secrets file, as docs/operations.md says to fill it in
            hub_env = root.file("/etc/tableside/hub.env")
            hub_env.write_text(hub_env.read_text() + f"TABLESIDE_HUB_OPERATOR_TOKEN={'t' * 40}\n"
                               f"TABLESIDE_HUB_DATABASE_URL={url}\nTABLESIDE_HUB_HTTP_PORT={port}\n"
                               f"TABLESIDE_HUB_BROKER_PORT={broker.port}\nTABLESIDE_HUB_METRICS_PORT=0\n")
            unit = root.file("/lib/systemd/system/tableside-hub.service").read_text().splitlines()
            exec_start = next(line.split("=", 1)[1] for line in unit if line.startswith("ExecStart=")).split()
            assert "--workers" in exec_start
            env = _environment_file(hub_env.read_text())
            process = root.popen(*exec_start, user="tableside-hub", log=tmp_path / "hub.log", env=env)
            try:
                wait_for_port(port, timeout=90, alive=process)
                deadline = time.monotonic() + 60
                while not _health(port)["link"]["connected"] and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert _health(port) == {"ok": True, "link": {"connected": True}}
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
            assert process.returncode == 0, (tmp_path / "hub.log").read_text()[-3000:]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    root.run("apt-get", "purge", "-y", "-q", "tableside-hub")
    assert not root.file("/var/lib/tableside-hub").exists() and not root.file("/etc/tableside/hub.env").exists()
