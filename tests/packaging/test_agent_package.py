"""The amd64 agent package in a Debian 12 root: install, serve an order, upgrade twice, remove, purge.

Inside the root there is no systemd running (a chroot), so the test starts the agent as the unit
would: the unit's own ExecStart, as its User= with its SupplementaryGroups, in Debian's
environment; and it stops it with SIGTERM as `systemctl stop` does before each upgrade.
test_agent_service.py does the same under a booted systemd, where the scripts call systemctl.
"""

import signal
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.packaging.agent_box import (
    PrinterEmulator,
    agent_config,
    counts,
    migrations,
    place_order,
    tables_in,
    wait_for_ticket,
)
from tests.packaging.conftest import NEXT, VERSION, built
from tests.packaging.debian_root import DebianRoot
from tests.services import free_port, wait_for_port

# installing, booting and building take minutes on a loaded 2-core machine, not the suite's 2
pytestmark = pytest.mark.timeout(900)


def _exec_start(root: DebianRoot) -> list[str]:
    unit = root.file("/lib/systemd/system/tableside-agent.service").read_text().splitlines()
    return next(line.split("=", 1)[1] for line in unit if line.startswith("ExecStart=")).split()


class RunningAgent:
    def __init__(self, root: DebianRoot, port: int, log: Path):
        self.root, self.port, self.log = root, port, log
        self.process = root.popen(*_exec_start(root), user="tableside", log=log)
        try:
            wait_for_port(port, timeout=60, alive=self.process)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"the agent did not start:\n{log.read_text()}") from None

    def stop(self) -> None:
        """What `systemctl stop` does: SIGTERM, then wait for the agent to finish and exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


def _in_root_ids(root: DebianRoot, user: str) -> str:
    return root.run("id", user).stdout


def test_agent_package_installs_serves_upgrades_and_purges(debian_root, releases, tmp_path):
    root = debian_root
    first = built("agent", "amd64")

    # -- install as the issue says: dpkg -i, then apt-get -f install pulls python3 from Debian
    root.file(f"/tmp/{first.name}").write_bytes(first.read_bytes())
    root.run("dpkg", "-i", f"/tmp/{first.name}", check=False)
    done = root.run("apt-get", "-f", "install", "-y", "-q", timeout=900)
    assert "tableside agent setup" in done.stdout  # postinst says what to do next
    assert root.run("dpkg-query", "-W", "-f=${Status} ${Version}", "tableside-agent").stdout == \
        f"install ok installed {VERSION}"

    # -- what it laid down: the user and its groups, modes and owners, the conffile, no service started
    ids = _in_root_ids(root, "tableside")
    assert "(dialout)" in ids and "(lp)" in ids
    assert root.mode("/var/lib/tableside") == (0o700, "tableside", "tableside")
    assert root.mode("/etc/tableside/agent.toml") == (0o640, "root", "tableside")
    assert root.mode("/usr/bin/tableside") == (0o755, "root", "root")
    assert root.run("cat", "/var/lib/dpkg/info/tableside-agent.conffiles").stdout.split() == \
        ["/etc/tableside/agent.toml"]
    assert not root.file("/etc/systemd/system/multi-user.target.wants/tableside-agent.service").exists()
    assert root.file("/opt/tableside/lib/tableside/__pycache__/cli.cpython-311.pyc").exists()  # /opt is read-only
    help_text = root.run("tableside", "--help", user="tableside").stdout
    assert "agent" in help_text and "printer" in help_text
    # Debian's interpreter runs it: no venv whose bin/python points at the build machine's
    assert "exec /usr/bin/python3 " in root.file("/usr/bin/tableside").read_text()
    assert not list(root.file("/opt/tableside").glob("**/pyvenv.cfg"))
    assert not root.file("/opt/tableside/lib/bin").exists()

    # -- the unit checks out against this root's systemd
    verified = subprocess.run(["systemd-analyze", "verify", f"--root={root.path}", "tableside-agent.service"],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stderr

    # -- configure (as an installer edits the conffile), start as the service would, order, ticket
    port, printer_port = free_port(), free_port()
    edited = agent_config(port, printer_port)
    root.file("/etc/tableside/agent.toml").write_text(edited)
    tickets = tmp_path / "tickets"
    emulator = PrinterEmulator(printer_port, tickets)
    try:
        agent = RunningAgent(root, port, tmp_path / "agent-1.log")
        try:
            setup = root.run("tableside", "agent", "setup", "--config", "/etc/tableside/agent.toml",
                             "--skip-pairing", "--skip-service", check=False)
            assert setup.returncode == 0, setup.stdout + setup.stderr
            assert "test page printed on kitchen" in setup.stdout
            assert f"staff dashboard: http://127.0.0.1:{port}/staff" in setup.stdout
            table_url = next(word for word in setup.stdout.split() if "/t/" in word)
            wait_for_ticket(tickets, "TEST PAGE")

            order = place_order(port, table_url)
            wait_for_ticket(tickets, f"Order #{order['number']}")
        finally:
            agent.stop()
        before = counts(root)
        assert before["orders"] == 1 and before["outbox"] >= 1

        # -- upgrade to the next release: backup, new migration, everything kept
        next_deb, broken_deb = releases.next(), releases.broken()
        upgraded = root.install(next_deb)
        assert "backed up" in upgraded.stdout and "9001_package_test_upgrade" in upgraded.stdout
        assert counts(root) == before
        assert "9001_package_test_upgrade" in migrations(root)
        assert root.file("/etc/tableside/agent.toml").read_text() == edited
        backups = sorted(root.file("/var/lib/tableside/backups").glob(f"agent-before-{NEXT}-*.sqlite"))
        assert len(backups) == 1 and root.mode(str(backups[0].relative_to(root.path)))[1:] == ("tableside", "tableside")
        backup_db = sqlite3.connect(f"file:{backups[0]}?mode=ro", uri=True)
        assert backup_db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
        assert "9001_package_test_upgrade" not in {r[0] for r in backup_db.execute("SELECT name FROM _migrations")}
        backup_db.close()
        agent = RunningAgent(root, port, tmp_path / "agent-2.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
        finally:
            agent.stop()
        # the upgraded agent ran: it may have made the bill report the first run still owed (the
        # outbox grows by one), so what the failed upgrade must bring back is counted here
        before = counts(root)
        assert before["orders"] == 1
        db = sqlite3.connect(f"file:{root.file('/var/lib/tableside/agent.sqlite')}?mode=ro", uri=True)
        assert db.execute("SELECT id FROM orders").fetchone()[0] == order["id"]
        db.close()
    finally:
        emulator.stop()

    # -- an upgrade whose migration fails: the old database is back, the package says why
    failed = root.install(broken_deb, check=False)
    assert failed.returncode != 0
    said = failed.stdout + failed.stderr
    assert "migration failed" in said and "the agent stays stopped" in said
    assert "RuntimeError: this migration fails on purpose" in said
    assert "package_test_half_done" not in tables_in(root)  # 9002 had committed: undone by the restore
    assert migrations(root) >= {"9001_package_test_upgrade"} and "9002_package_test_half_done" not in \
        migrations(root)
    assert counts(root) == before

    # -- going back is a downgrade: refused, unless asked for after such a failure
    refused = root.install(next_deb, check=False)
    assert refused.returncode != 0 and "refusing to downgrade" in refused.stdout + refused.stderr
    root.install(next_deb, env={"TABLESIDE_ALLOW_DOWNGRADE": "1"})
    assert root.run("dpkg-query", "-W", "-f=${Status} ${Version}", "tableside-agent").stdout == \
        f"install ok installed {NEXT}"
    agent = RunningAgent(root, port, tmp_path / "agent-3.log")
    agent.stop()
    assert counts(root) == before

    # -- remove keeps data and config; purge deletes them
    root.run("apt-get", "remove", "-y", "-q", "tableside-agent")
    assert not root.file("/usr/bin/tableside").exists() and not root.file("/opt/tableside/lib").exists()
    assert root.file("/var/lib/tableside/agent.sqlite").exists()
    assert root.file("/etc/tableside/agent.toml").read_text() == edited
    root.run("apt-get", "purge", "-y", "-q", "tableside-agent")
    assert not root.file("/var/lib/tableside").exists()
    assert not root.file("/etc/tableside/agent.toml").exists()
