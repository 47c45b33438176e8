"""`tableside hub run --workers N` when a worker cannot start: it says why and stops, rather than
restarting the worker forever (a metrics port already taken, here)."""

import os
import socket
import subprocess
import sys

import pytest

from tableside import exits, workers
from tests.hub.factories import TOKEN
from tests.services import free_port


def _taken_after_a_free_one() -> tuple[socket.socket, int]:
    """A listening socket on port p + 1 whose port p was free a moment ago (checked, not assumed:
    another test's server on p made worker 0 fail instead of worker 1)."""
    for _ in range(100):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1] - 1
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            taken.close()
            continue
        finally:
            probe.close()
        taken.listen()
        return taken, port
    raise RuntimeError("no free port below a free one")


def test_a_taken_metrics_port_stops_the_workers_with_the_reason(tmp_path):
    taken, metrics_port = _taken_after_a_free_one()  # worker 1 serves on metrics_port + 1: the taken one
    config = tmp_path / "hub.toml"
    config.write_text(f"""
[hub]
data_dir = "{tmp_path / 'hub'}"
database_url = "sqlite:///{tmp_path / 'hub.sqlite'}"
operator_token = "{TOKEN}"
[http]
port = {free_port()}
[broker]
port = {free_port()}
[metrics]
port = {metrics_port}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
    try:
        done = subprocess.run([sys.executable, "-m", "tableside.cli", "hub", "run", "--workers", "2",
                               "--config", str(config)], capture_output=True, text=True, env=env, timeout=120)
    finally:
        taken.close()
    assert done.returncode == exits.CANNOT_LISTEN
    assert "cannot listen" in done.stderr and "address already in use" in done.stderr.lower()
    assert "hub worker 1 cannot start: an address it must listen on is taken" in done.stderr
    assert "starting it again" not in done.stdout


@pytest.mark.parametrize(("crashes", "pause"), [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)])
def test_a_worker_that_keeps_crashing_is_restarted_ever_more_slowly(crashes, pause):
    assert workers.restart_pause(crashes) == pause
