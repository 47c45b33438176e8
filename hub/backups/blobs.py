"""Backups on disk: {dir}/{agent_id}/{name} and {name}.json beside it (what the agent said of it:
when it was made, the key id, the outbox's seq; never anything from inside it).

Each file is written whole (a temporary, fsynced, renamed), the description last, so a listed
backup is always complete. Several hub workers must share the directory (or run on one host).
Blocking: the hub calls these on a thread.
"""

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.topics import check_agent_id

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
META = ".json"


class BadName(ValueError):
    pass


def _check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name.endswith(META):
        raise BadName(f"backup name {name[:100]!r}: expected letters, digits, '.', '_' or '-' (at most 100)")
    return name


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # two workers may take the same upload
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


@dataclass(frozen=True)
class BlobStore:
    directory: Path
    keep: int

    def _dir(self, agent_id: str) -> Path:
        try:
            check_agent_id(agent_id)
        except ValueError as exc:
            raise BadName(f"agent id: {exc}") from None
        return self.directory / agent_id

    def save(self, agent_id: str, name: str, blob: bytes, meta: dict[str, Any]) -> dict[str, Any]:
        where = self._dir(agent_id)
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(where / _check_name(name), blob)
        described = {**meta, "name": name, "size": len(blob)}
        _write(where / f"{name}{META}", json.dumps(described).encode())
        self._prune(agent_id)
        return described

    def listing(self, agent_id: str) -> list[dict[str, Any]]:
        """Newest first (by the time the agent gave)."""
        found = []
        try:
            paths = list(self._dir(agent_id).glob(f"*{META}"))
        except FileNotFoundError:
            return []
        for path in paths:
            try:
                meta = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if (path.parent / meta.get("name", "")).is_file():
                found.append(meta)
        return sorted(found, key=lambda m: (m.get("created_at", ""), m["name"]), reverse=True)

    def read(self, agent_id: str, name: str) -> bytes | None:
        path = self._dir(agent_id) / _check_name(name)
        return path.read_bytes() if path.is_file() and path.with_name(name + META).is_file() else None

    def _prune(self, agent_id: str) -> None:
        for meta in self.listing(agent_id)[self.keep:]:
            where = self._dir(agent_id)
            (where / f"{meta['name']}{META}").unlink(missing_ok=True)  # unlisted first, then gone
            (where / meta["name"]).unlink(missing_ok=True)
