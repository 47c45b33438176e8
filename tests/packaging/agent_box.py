"""What the package tests do with an installed agent: its configuration, its database, an order."""

import json
import sqlite3
import time
import urllib.request
import uuid
from pathlib import Path

from tests.packaging.debian_root import DebianRoot
from tests.services import free_port


def agent_config(port: int, printer_port: int) -> str:
    return f'''# edited by the installer (tests/packaging): must survive upgrades
[agent]
id = "pkgtest-agent"
data_dir = "/var/lib/tableside"

[http]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"

[broker]
host = "127.0.0.1"
port = {free_port()}
username = "pkgtest-agent"

[[tables]]
name = "Table 1"

[[printers]]
name = "kitchen"
kind = "escpos-tcp"
stations = ["kitchen", "bar", "desserts"]
options = {{ host = "127.0.0.1", port = {printer_port} }}

[pos]
kind = "simulator"
options = {{ path = "/var/lib/tableside/pos-checks.jsonl" }}
'''


def _query(root: DebianRoot, sql: str) -> list[tuple]:
    """Rows from the installed agent's database, opened read-only beside the running agent."""
    db = sqlite3.connect(f"file:{root.file('/var/lib/tableside/agent.sqlite')}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def counts(root: DebianRoot) -> dict[str, int]:
    return {table: _query(root, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("orders", "order_lines", "outbox", "device_jobs", "tables", "settings")}


def reports_owed(root: DebianRoot) -> int:
    """Bill reports to the hub the agent owes and makes once a second (each adds an outbox row)."""
    return _query(root, "SELECT count(*) FROM bill_reports_due")[0][0]


def migrations(root: DebianRoot) -> set[str]:
    return {row[0] for row in _query(root, "SELECT name FROM _migrations")}


def tables_in(root: DebianRoot) -> set[str]:
    return {row[0] for row in _query(root, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def wait_for_ticket(folder: Path, text: str, within: float = 30.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for ticket in sorted(folder.glob("ticket-*.txt")):
            content = ticket.read_text()
            if text in content:
                return content
        time.sleep(0.1)
    raise AssertionError(f"no ticket with {text!r} in {folder} after {within}s: {sorted(folder.iterdir())}")


def place_order(port: int, table_url: str) -> dict:
    """A diner's order at the table of `table_url`, as the phone sends it; the agent's answer."""
    token = table_url.rsplit("/t/", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/tables/{token}/orders", method="POST",
        data=json.dumps({"lines": [{"item_id": "onion-soup", "qty": 2}]}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
        return json.load(answer)["order"]


class PrinterEmulator:
    """A network ESC/POS printer on this machine's loopback (the checkout's own emulator), saving
    each ticket as text in `folder`."""

    def __init__(self, port: int, folder: Path):
        import subprocess

        from tests.services import wait_for_port

        tableside = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "tableside"
        self.process = subprocess.Popen([str(tableside), "printer", "emulator", "--port", str(port),
                                         "--out-dir", str(folder)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, timeout=30, alive=self.process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
