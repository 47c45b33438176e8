"""The system under test as real processes: `tableside hub run` and `tableside agent run`, so a
SIGKILL is a real crash (no clean-up, no goodbye to the broker), on fixed loopback ports so a
restart comes back where the diners' phones and the broker expect it."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.services import free_port, wait_for_port

AGENT_ID = "chaos-agent"
OPERATOR_TOKEN = "chaos-operator-token-0123456789abcdef"
TABLES = 16
START_TIMEOUT_S = 30.0


def enroll_agent(hub: "Service") -> None:
    """Vouch for the agent as an operator does, with a restaurant naming it: the hub applies only
    enrolled agents' messages. Run once, before the agent first speaks."""
    subprocess.run([sys.executable, "-m", "tableside.cli", "hub", "restaurant", "create", "--config", str(hub.config),
                    "--name", "Chaos Bistro", "--country", "FR", "--currency", "EUR", "--basis-points", "150",
                    "--fixed-minor", "10", "--agent", AGENT_ID], check=True, capture_output=True, timeout=60)


@dataclass
class Service:
    """One `tableside <name> run` process, started again after every kill."""

    name: str
    config: Path
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TABLESIDE_STRIPE", "TABLESIDE_HUB_",
                                                                        "TABLESIDE_AGENT_"))}
        with open(self.log, "ab") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen([sys.executable, "-m", "tableside.cli", self.name, "run",
                                          "--config", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT, env={**env, **self.env})
        self.starts += 1
        try:
            wait_for_port(self.port, timeout=START_TIMEOUT_S, alive=self.proc)
        except TimeoutError:
            raise RuntimeError(f"{self.name} did not start; log tail:\n{self.tail()}") from None

    def kill(self) -> None:
        """SIGKILL: nothing flushed, nothing said."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def hub_service(root: Path, broker_port: int) -> Service:
    data = root / "hub"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "hub.toml"
    config.write_text(f"""
[hub]
data_dir = "{data}"
public_url = "http://127.0.0.1:{port}"
operator_token = "{OPERATOR_TOKEN}"
[http]
host = "127.0.0.1"
port = {port}
[broker]
host = "127.0.0.1"
port = {broker_port}
shared_subscription = true
client_id = "chaos-hub"
""")
    return Service("hub", config, port, root / "hub.log")


def agent_service(root: Path, uplink_port: int, hub_url: str, printer_port: int, *,
                  env: dict[str, str] | None = None) -> Service:
    data = root / "agent"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "agent.toml"
    tables = "\n".join(f'[[tables]]\nname = "Table {i}"' for i in range(1, TABLES + 1))
    config.write_text(f"""
[agent]
id = "{AGENT_ID}"
data_dir = "{data}"
[http]
host = "127.0.0.1"
port = {port}
[hub]
url = "{hub_url}"
[broker]
host = "127.0.0.1"
port = {uplink_port}
keepalive = 10
[dispatch]
status_interval = 2.0
deliver_timeout = 10.0
[payments]
hold_minutes = 30
[limits]  # every simulated diner comes from one address here
per_client_per_minute = 1000000.0
per_client_burst = 1000000
per_table_per_minute = 1000000.0
per_table_burst = 1000000
{tables}
[[printers]]
name = "kitchen"
kind = "escpos-tcp"
stations = ["kitchen", "desserts", "bar"]
options = {{ host = "127.0.0.1", port = {printer_port} }}
[pos]
kind = "simulator"
options = {{ path = "{root / 'pos-checks.jsonl'}" }}
""")
    return Service("agent", config, port, root / "agent.log", env=dict(env or {}))


def add_staff(agent: Service, name: str, secret: str) -> None:
    subprocess.run([sys.executable, "-m", "tableside.cli", "agent", "add-staff", "--config", str(agent.config),
                    "--name", name, "--role", "manager", "--secret", secret], check=True, capture_output=True,
                   timeout=60)


def wait_until(predicate, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
