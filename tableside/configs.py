"""Loading the agent's or the hub's configuration for a command: the config, or None after saying
on stderr what is wrong (the command then exits 2)."""

import os
import sys
from pathlib import Path


def loaded(side: str, path: Path | None, command: str):
    if side == "agent":
        from agent.config import ConfigError, load_config
    else:
        from hub.config import ConfigError, load_config
    try:
        return load_config(path, os.environ)
    except ConfigError as exc:
        print(f"tableside {command}: configuration error: {exc}", file=sys.stderr)
        return None
