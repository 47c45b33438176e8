"""The hub as a real systemd service: the Debian root booted (systemd-nspawn), the hub package
installed, `systemctl enable --now tableside-hub` with its hardened unit, two workers on PostgreSQL
and a real Mosquitto answering /healthz with the link up, then a clean stop."""

import json
import secrets
import time
import urllib.request

import pytest
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url

from tests.packaging.booted import BootedRoot, nspawn_missing
from tests.packaging.conftest import built
from tests.services import free_port, missing, mosquitto, postgres_url

# installing, booting and building take minutes on a loaded 2-core machine, not the suite's 2
pytestmark = pytest.mark.timeout(900)

UNIT = "tableside-hub.service"


def _link_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return json.load(answer) == {"ok": True, "link": {"connected": True}}
    except OSError:
        return False


def test_hub_runs_hardened_under_systemd(debian_root, tmp_path):
    reason = nspawn_missing()
    if reason:
        missing(reason)
    deb = built("hub", "amd64")
    base = postgres_url()
    schema = f"pkg_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    box = BootedRoot(debian_root, tmp_path / "boot.log")
    port = free_port()
    try:
        with mosquitto() as broker:
            debian_root.file(f"/root/{deb.name}").write_bytes(deb.read_bytes())  # /tmp is a tmpfs inside
            box.run("dpkg", "-i", f"/root/{deb.name}", check=False)
            box.run("apt-get", "-f", "install", "-y", "-q", env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
            assert box.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"
            hub_env = debian_root.file("/etc/tableside/hub.env")
            hub_env.write_text(hub_env.read_text() + f"TABLESIDE_HUB_OPERATOR_TOKEN={'t' * 40}\n"
                               f"TABLESIDE_HUB_DATABASE_URL={url}\nTABLESIDE_HUB_HTTP_PORT={port}\n"
                               f"TABLESIDE_HUB_BROKER_PORT={broker.port}\nTABLESIDE_HUB_METRICS_PORT=0\n")
            box.run("systemctl", "enable", "--now", UNIT)
            deadline = time.monotonic() + 120
            while not _link_up(port) and time.monotonic() < deadline:
                assert box.run("systemctl", "is-failed", UNIT, check=False).stdout.strip() != "failed", \
                    box.run("journalctl", "--no-pager", "-u", UNIT).stdout[-3000:]
                time.sleep(0.3)
            assert _link_up(port), box.run("journalctl", "--no-pager", "-u", UNIT).stdout[-3000:]
            status = box.status_of(UNIT)
            assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"
            assert int(status["CapEff"], 16) == 0
            # the supervisor started its two workers (tableside/workers.py says so on stdout: the journal)
            journal = box.run("journalctl", "--no-pager", "-u", UNIT).stdout
            started = next(line for line in journal.splitlines() if "hub workers started" in line)
            assert started.split("pids=")[1].count(",") == 1
            box.run("systemctl", "stop", UNIT, timeout=120)
            assert box.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"
            result = box.run("systemctl", "show", "--property=Result", "--value", UNIT).stdout.strip()
            assert result == "success"
    finally:
        box.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
