"""Real services for tests: skip with the reason when one is missing, fail under CI.

TABLESIDE_REQUIRE_SERVICES=1 (set by .ci/run) turns every such skip into a failure, so a test
that needs Mosquitto, PostgreSQL or Chromium can never pass by not running.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("TABLESIDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("TABLESIDE_TEST_CHROMIUM", "/usr/bin/chromium")


def missing(reason: str) -> None:
    """Skip for lack of a service, or fail when services are required."""
    if os.environ.get("TABLESIDE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, alive: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (alive is None or alive.poll() is None):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Mosquitto:
    """Our own mosquitto on a free loopback port, so tests may stop and restart it freely."""

    def __init__(self, port: int | None = None, extra_config: str = "", anonymous: bool = True) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tableside-mosquitto-"))
        self.config = self.dir / "mosquitto.conf"
        # as root, mosquitto would drop to its own user, which cannot read files in our private temp dirs
        run_as = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous {str(anonymous).lower()}\n"
                               f"persistence false\n{run_as}{extra_config}")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.dir / "log", "ab") as log:  # the child keeps its own copy of the handle
            self.proc = subprocess.Popen([self.binary(), "-c", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(self.port, alive=self.proc)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {(self.dir / 'log').read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    @staticmethod
    def binary() -> str:
        path = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if not path:
            missing("mosquitto is not installed (apt-get install mosquitto)")
        return path


@contextlib.contextmanager
def mosquitto(**kwargs) -> Iterator[Mosquitto]:
    broker = Mosquitto(**kwargs)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


def postgres_url() -> str:
    """The test database URL, after checking that PostgreSQL answers."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to reach it means: no service
        missing(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc.__class__.__name__}")
    return POSTGRES_URL


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A private, empty schema in the PostgreSQL test database, dropped afterwards: its URL."""
    import secrets

    from sqlalchemy import NullPool, create_engine, text
    from sqlalchemy.engine import make_url

    base = postgres_url()
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
]
