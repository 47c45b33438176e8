"""The agent as a real systemd service: the Debian root booted (systemd-nspawn), the package installed
in it, `tableside agent setup` enabling and starting the hardened unit, an order printed, a crash
restarted, and an upgrade over the running agent that stops, backs up, migrates and starts it."""

import time
import urllib.request

import pytest

from tests.packaging.agent_box import (
    PrinterEmulator,
    agent_config,
    counts,
    migrations,
    place_order,
    reports_owed,
    wait_for_ticket,
)
from tests.packaging.booted import BootedRoot, nspawn_missing
from tests.packaging.conftest import built
from tests.services import free_port, missing

# installing, booting and building take minutes on a loaded 2-core machine, not the suite's 2
pytestmark = pytest.mark.timeout(900)

UNIT = "tableside-agent.service"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def _until(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {within}s: {what}")


def test_agent_runs_hardened_under_systemd_and_is_upgraded_while_running(debian_root, releases, tmp_path):
    reason = nspawn_missing()
    if reason:
        missing(reason)
    deb = built("agent", "amd64")
    box = BootedRoot(debian_root, tmp_path / "boot.log")
    port, printer_port = free_port(), free_port()
    emulator = PrinterEmulator(printer_port, tmp_path / "tickets")
    try:
        debian_root.file(f"/root/{deb.name}").write_bytes(deb.read_bytes())  # /tmp is a tmpfs inside
        box.run("dpkg", "-i", f"/root/{deb.name}", check=False)
        box.run("apt-get", "-f", "install", "-y", "-q", env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
        # installed, not started: an unpaired agent has nothing to talk to
        assert box.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() == "disabled"
        assert box.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"

        debian_root.file("/etc/tableside/agent.toml").write_text(agent_config(port, printer_port))
        setup = box.run("tableside", "agent", "setup", "--config", "/etc/tableside/agent.toml", "--skip-pairing",
                        check=False, timeout=300)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        assert f"{UNIT} enabled (starts at boot) and started" in setup.stdout
        assert box.run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
        assert box.run("systemctl", "is-active", UNIT).stdout.strip() == "active"
        wait_for_ticket(tmp_path / "tickets", "TEST PAGE")

        # the sandbox is in force on the running process
        status = box.status_of(UNIT)
        passwd = {row.split(":")[0]: row.split(":") for row in
                  debian_root.file("/etc/passwd").read_text().splitlines() if row}
        groups = {row.split(":")[0]: row.split(":")[2] for row in
                  debian_root.file("/etc/group").read_text().splitlines() if row}
        assert status["Uid"].split()[0] == passwd["tableside"][2]
        assert {groups["dialout"], groups["lp"]} <= set(status["Groups"].split())
        assert status["NoNewPrivs"].strip() == "1"
        assert status["Seccomp"].strip() == "2"  # a system-call filter is loaded
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0

        # it serves and prints under that sandbox
        table_url = next(word for word in setup.stdout.split() if "/t/" in word)
        order = place_order(port, table_url)
        wait_for_ticket(tmp_path / "tickets", f"Order #{order['number']}")

        # Restart=always: a crashed agent is back by itself
        crashed = box.main_pid(UNIT)
        box.run("systemctl", "kill", "--kill-whom=main", "--signal=SIGKILL", UNIT)  # as a crash would
        _until(lambda: box.main_pid(UNIT) not in (0, crashed) and _healthy(port), 60, "the agent restarted")
        # the running agent makes the order's bill report within a second (an outbox row): made
        # before the count, so what the upgrade must keep stays still
        _until(lambda: reports_owed(debian_root) == 0, 60, "the owed bill report made")
        before = counts(debian_root)

        # an upgrade over the running agent: stopped, backed up, migrated, started again
        running = box.main_pid(UNIT)
        upgraded = box.install(releases.next())
        assert "backed up" in upgraded.stdout and "9001_package_test_upgrade" in upgraded.stdout
        assert box.run("systemctl", "is-active", UNIT).stdout.strip() == "active"
        assert box.main_pid(UNIT) != running
        _until(lambda: _healthy(port), 60, "the upgraded agent answers")
        assert counts(debian_root) == before and "9001_package_test_upgrade" in migrations(debian_root)
        journal = box.run("journalctl", "--no-pager", "-u", UNIT).stdout
        assert "Stopped" in journal and journal.count("Started") >= 3  # setup, after the crash, after the upgrade
    finally:
        emulator.stop()
        box.stop()
