"""The demo POS: checks go to a JSON-lines file (or memory), with the idempotency a real POS has."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.pos.base import Pos, PosError, PosOrder, PosUnavailable

log = logging.getLogger(__name__)


def _read_checks(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The checks in the file, and whether it ends mid-line (a write cut short by power loss)."""
    if not path.exists():
        return [], False
    raw = path.read_text(encoding="utf-8")
    checks = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            checks.append(json.loads(line))
        except json.JSONDecodeError:
            # Only a torn last write can leave this; that check was never confirmed to anyone.
            log.warning("simulator POS: skipping unreadable line %d of %s", number, path)
    return checks, bool(raw) and not raw.endswith("\n")


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())  # a check we answered for must survive a power cut


class SimulatorPos(Pos):
    def __init__(self, *, path: str | os.PathLike[str] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.path = Path(path) if path is not None else None
        self._checks: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._loaded = self.path is None
        self._torn_tail = False
        self._lock = asyncio.Lock()  # one submit at a time, so a key can never make two checks

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Checks made so far; with a path, those in the file count once the first order is submitted."""
        return list(self._checks)

    def describe(self) -> str:
        return f"simulator POS ({self.path})" if self.path else "simulator POS (in memory)"

    async def submit_order(self, order: PosOrder, idempotency_key: str) -> str:
        if not idempotency_key:
            raise PosError("simulator POS: an order needs an idempotency key, so retries cannot double it")
        async with self._lock:
            await self._load()
            if (known := self._by_key.get(idempotency_key)) is not None:
                if known["order_id"] != order.order_id:
                    raise PosError(
                        f"simulator POS: idempotency key {idempotency_key!r} was already used for order "
                        f"{known['order_id']}, not {order.order_id}: each order needs its own key"
                    )
                return known["ref"]
            check = {
                "ref": f"CHK-{self._last_number() + 1:04d}",
                "idempotency_key": idempotency_key,
                **asdict(order),
                "created_at": datetime.now(UTC).isoformat(),
            }
            if self.path is not None:
                line = ("\n" if self._torn_tail else "") + json.dumps(check, ensure_ascii=False) + "\n"
                try:
                    await asyncio.to_thread(_append_line, self.path, line)
                except OSError as e:
                    raise PosUnavailable(f"simulator POS cannot write {self.path} ({e.strerror or e}): check the disk") from e
                self._torn_tail = False
            self._remember(check)
            return check["ref"]

    async def _load(self) -> None:
        """Read the checks already on file once, so idempotency survives a restart."""
        if self._loaded:
            return
        assert self.path is not None
        try:
            checks, self._torn_tail = await asyncio.to_thread(_read_checks, self.path)
        except OSError as e:
            raise PosUnavailable(f"simulator POS cannot read {self.path} ({e.strerror or e}): check the path") from e
        for check in checks:
            self._remember(check)
        self._loaded = True

    def _remember(self, check: dict[str, Any]) -> None:
        self._checks.append(check)
        self._by_key[check["idempotency_key"]] = check

    def _last_number(self) -> int:
        numbers = [int(c["ref"].removeprefix("CHK-")) for c in self._checks if c.get("ref", "").startswith("CHK-")]
        return max(numbers, default=0)
