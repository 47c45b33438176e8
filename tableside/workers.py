"""`tableside hub run --workers N`: N hub processes on one HTTP address, supervised.

Why a flag and not only a systemd template unit: one command for one host (and for tests and the
benchmark), one unit to enable, and the children are restarted within a second of dying without
waiting for systemd's back-off. Each child is a plain `tableside hub run` with, through the
environment, its own broker client id (`<client_id>-<n>`, all on `$share/hub/...`) and metrics
port (`metrics.port + n`: one per worker, see docs/scaling.md); they share the HTTP port through
SO_REUSEPORT, so the kernel spreads connections over them (nginx in front is not needed on one
host). Migrations run here once before the children start.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RESTART_PAUSE_S = 0.5


def child_env(base: dict[str, str], client_id: str, metrics_port: int | None, index: int) -> dict[str, str]:
    env = {**base, "TABLESIDE_HUB_BROKER_CLIENT_ID": f"{client_id}-{index}", "TABLESIDE_HUB_REUSE_PORT": "1"}
    if metrics_port is not None:
        env["TABLESIDE_HUB_METRICS_PORT"] = str(metrics_port + index if metrics_port else 0)
    return env


def supervise(config_path: Path | None, workers: int) -> int:
    from hub.config import ConfigError, load_config
    from hub.store import migrate

    try:
        config = load_config(config_path, os.environ)
    except ConfigError as exc:
        print(f"tableside hub: configuration error: {exc}", file=sys.stderr)
        return 2
    if config.http_port == 0:
        print("tableside hub: --workers needs a fixed http.port (they share it)", file=sys.stderr)
        return 2
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(config.database_url)
    command = [sys.executable, "-m", "tableside.cli", "hub", "run"] + (["--config", str(config_path)]
                                                                       if config_path else [])
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> subprocess.Popen:
        env = child_env(dict(os.environ), config.client_id, config.metrics_port, index)
        return subprocess.Popen(command, env=env)

    children = {index: start(index) for index in range(workers)}
    print(f"hub workers started pids={[c.pid for c in children.values()]}", flush=True)
    while not stopping:
        time.sleep(RESTART_PAUSE_S)
        for index, child in list(children.items()):
            if child.poll() is not None and not stopping:
                print(f"hub worker {index} exited code={child.returncode}; starting it again", flush=True)
                children[index] = start(index)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
