"""`tableside hub run --workers N`: N hub processes on one HTTP address, supervised.

Why a flag and not only a systemd template unit: one command for one host (and for tests and the
benchmark), one unit to enable, and the children are restarted within a second of dying without
waiting for systemd's back-off. Each child is a plain `tableside hub run` with, through the
environment, its own broker client id (`<client_id>-<n>`, all on `$share/hub/...`) and metrics
port (`metrics.port + n`: one per worker, see docs/scaling.md); they share the HTTP port through
SO_REUSEPORT, so the kernel spreads connections over them (nginx in front is not needed on one
host). Migrations run here once before the children start. A worker that cannot start (its
configuration, or a port taken: exit codes in tableside/exits.py) stops them all, saying why,
instead of being restarted forever; one that crashes again soon after each start is restarted
after a growing pause (0.5 s doubling to 30 s).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tableside.exits import CANNOT_LISTEN, CONFIG_ERROR

RESTART_PAUSE_S = 0.5  # the first restart; doubled for each crash that follows soon after a start
RESTART_PAUSE_MAX_S = 30.0
STABLE_S = 60.0  # a worker that ran this long before dying starts again at once
# a worker that exits with these will exit with them again: restarting it would only spin
WONT_START = {CONFIG_ERROR: "its configuration is wrong", CANNOT_LISTEN: "an address it must listen on is taken"}


def child_env(base: dict[str, str], client_id: str, metrics_port: int | None, index: int) -> dict[str, str]:
    env = {**base, "TABLESIDE_HUB_BROKER_CLIENT_ID": f"{client_id}-{index}", "TABLESIDE_HUB_REUSE_PORT": "1"}
    if metrics_port is not None:
        env["TABLESIDE_HUB_METRICS_PORT"] = str(metrics_port + index if metrics_port else 0)
    return env


def restart_pause(crashes: int) -> float:
    """How long to wait before starting a worker again after `crashes` quick crashes in a row."""
    return min(RESTART_PAUSE_S * 2 ** max(crashes - 1, 0), RESTART_PAUSE_MAX_S)


def supervise(config_path: Path | None, workers: int) -> int:
    from hub.config import ConfigError, load_config
    from hub.store import migrate

    try:
        config = load_config(config_path, os.environ)
    except ConfigError as exc:
        print(f"tableside hub: configuration error: {exc}", file=sys.stderr)
        return CONFIG_ERROR
    if config.http_port == 0:
        print("tableside hub: --workers needs a fixed http.port (they share it)", file=sys.stderr)
        return CONFIG_ERROR
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(config.database_url)
    command = [sys.executable, "-m", "tableside.cli", "hub", "run"] + (["--config", str(config_path)]
                                                                       if config_path else [])
    stopping = False
    code = 0

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> subprocess.Popen:
        env = child_env(dict(os.environ), config.client_id, config.metrics_port, index)
        started[index] = time.monotonic()
        return subprocess.Popen(command, env=env)

    started: dict[int, float] = {}
    crashes = dict.fromkeys(range(workers), 0)  # quick crashes in a row, per worker
    due: dict[int, float] = {}  # worker -> when it is started again
    children = {index: start(index) for index in range(workers)}
    print(f"hub workers started pids={[c.pid for c in children.values()]}", flush=True)
    while not stopping:
        time.sleep(RESTART_PAUSE_S / 5)
        now = time.monotonic()
        for index, child in list(children.items()):
            if stopping or index in due or child.poll() is None:
                continue
            if child.returncode in WONT_START:
                print(f"hub worker {index} cannot start: {WONT_START[child.returncode]} (exit code "
                      f"{child.returncode}, its error is above); stopping every worker", file=sys.stderr, flush=True)
                stopping, code = True, child.returncode
                break
            crashes[index] = 0 if now - started[index] >= STABLE_S else crashes[index] + 1
            pause = restart_pause(crashes[index])
            print(f"hub worker {index} exited code={child.returncode}; starting it again in {pause:.1f}s",
                  flush=True)
            due[index] = now + pause
        for index, when in list(due.items()):
            if not stopping and now >= when:
                del due[index]
                children[index] = start(index)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code
