"""The demo POS: checks go to a JSON-lines file (or memory), with the idempotency a real POS has.

Like a till, it keeps one check per table visit: the first order of a visit opens the check, each
later one is added to it ({"event": "add"} lines in the file), and the table's payments go onto it.
An order without a visit id is a check of its own, as before."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.pos.base import Pos, PosError, PosItem, PosMenu, PosModifier, PosOrder, PosUnavailable, PosUpdate

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
    one_check_per_visit = True

    def __init__(self, *, path: str | os.PathLike[str] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.path = Path(path) if path is not None else None
        self._checks: list[dict[str, Any]] = []
        self._by_key: dict[str, dict[str, Any]] = {}  # idempotency key -> {"order_id", "ref"}
        self._open_of_visit: dict[str, dict[str, Any]] = {}  # visit id -> its check while open
        self._loaded = self.path is None
        self._torn_tail = False
        self._lock = asyncio.Lock()  # one submit at a time, so a key can never make two checks
        # Payments and closings go to the same file as lines with an "event" field.
        self._payments: dict[str, list[dict[str, Any]]] = {}
        self._payment_by_key: dict[str, dict[str, Any]] = {}
        self._closed: set[str] = set()
        self._catalogue: dict[str, PosItem] = {}
        self._sold_out: set[str] = set()
        self._updates: list[PosUpdate] = []

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
            now = datetime.now(UTC).isoformat()
            grouped = order.visit_id and self.one_check_per_visit
            visit_check = self._open_of_visit.get(order.visit_id) if grouped else None
            if visit_check is not None:  # the table's check is open: the order goes onto it
                record = {"event": "add", "check_ref": visit_check["ref"], "idempotency_key": idempotency_key,
                          **asdict(order), "created_at": now}
            else:
                record = {"ref": f"CHK-{self._last_number() + 1:04d}", "idempotency_key": idempotency_key,
                          **asdict(order), "created_at": now}
            await self._write(record)
            self._remember(record)
            return record.get("ref") or record["check_ref"]

    async def load(self) -> SimulatorPos:
        """Read what is on file now (a viewer's fresh look; submit_order does it by itself)."""
        async with self._lock:
            await self._load()
        return self

    def check_of(self, check_ref: str) -> dict[str, Any] | None:
        """A check with every order added to it: "orders" (their numbers), "lines", "total_minor"."""
        return next((dict(c) for c in self._checks if c["ref"] == check_ref), None)

    def paid_on(self, check_ref: str) -> int:
        """What the payments on a check came to, tips left out."""
        return sum(p["amount_minor"] for p in self._payments.get(check_ref, []))

    def payments_for(self, check_ref: str) -> list[dict[str, Any]]:
        """The payments recorded on a check, oldest first."""
        return list(self._payments.get(check_ref, []))

    def is_closed(self, check_ref: str) -> bool:
        return check_ref in self._closed

    async def add_payment(self, check_ref: str, amount_minor: int, tip_minor: int, method: str,
                          idempotency_key: str) -> str:
        if not idempotency_key:
            raise PosError("simulator POS: a payment needs an idempotency key, so retries cannot double it")
        if amount_minor < 0 or tip_minor < 0:
            raise PosError(f"simulator POS: amounts cannot be negative (amount {amount_minor}, tip {tip_minor})")
        async with self._lock:
            await self._load()
            if (known := self._payment_by_key.get(idempotency_key)) is not None:
                if known["check_ref"] != check_ref:
                    raise PosError(f"simulator POS: idempotency key {idempotency_key!r} was already used for a "
                                   f"payment on {known['check_ref']}, not {check_ref}")
                return known["ref"]
            if not any(c["ref"] == check_ref for c in self._checks):
                raise PosError(f"simulator POS: no check {check_ref!r}")
            if check_ref in self._closed:
                raise PosError(f"simulator POS: check {check_ref} is closed; it takes no more payments")
            number = sum(len(p) for p in self._payments.values()) + 1
            payment = {"event": "payment", "ref": f"PAY-{number:04d}", "check_ref": check_ref,
                       "amount_minor": amount_minor, "tip_minor": tip_minor, "method": method,
                       "idempotency_key": idempotency_key, "created_at": datetime.now(UTC).isoformat()}
            await self._write(payment)
            self._remember(payment)
            return payment["ref"]

    async def close_check(self, check_ref: str) -> None:
        async with self._lock:
            await self._load()
            if not any(c["ref"] == check_ref for c in self._checks):
                raise PosError(f"simulator POS: no check {check_ref!r}")
            if check_ref in self._closed:
                return
            event = {"event": "close", "check_ref": check_ref, "closed_at": datetime.now(UTC).isoformat()}
            await self._write(event)
            self._remember(event)
        self._updates.append(PosUpdate("check_status", check_ref, "COMPLETED"))

    async def fetch_menu(self) -> PosMenu:
        async with self._lock:
            await self._load()
        return PosMenu([PosItem(i.pos_id, i.name, i.price_minor, i.category, i.pos_id not in self._sold_out,
                                list(i.modifiers)) for i in self._catalogue.values()])

    def set_sold_out(self, pos_id: str, sold_out: bool = True) -> None:
        """Mark an item sold out (or back in stock), as staff would on the till; queues an update."""
        if sold_out == (pos_id in self._sold_out):
            return
        (self._sold_out.add if sold_out else self._sold_out.discard)(pos_id)
        self._updates.append(PosUpdate("sold_out" if sold_out else "back_in_stock", pos_id, ""))

    async def poll_updates(self, since: str | None) -> tuple[list[PosUpdate], str | None]:
        start = 0
        if since is not None:
            try:
                start = int(since)
            except ValueError:
                raise PosError(f"simulator POS: bad cursor {since!r}") from None
        return self._updates[start:], str(len(self._updates))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[PosUpdate]:
        """The simulator's "webhook" is a JSON list of {"kind", "pos_id", "detail"}, unsigned."""
        try:
            raw = json.loads(body)
            return [PosUpdate(u["kind"], u["pos_id"], u.get("detail", "")) for u in raw]
        except (ValueError, TypeError, KeyError) as e:
            raise PosError(f"simulator POS: unreadable webhook body ({e})") from e

    async def check(self) -> str:
        async with self._lock:
            await self._load()
        return f"{self.describe()}: {len(self._checks)} check(s), {len(self._closed)} closed"

    async def _write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = ("\n" if self._torn_tail else "") + json.dumps(record, ensure_ascii=False) + "\n"
        try:
            await asyncio.to_thread(_append_line, self.path, line)
        except OSError as e:
            raise PosUnavailable(f"simulator POS cannot write {self.path} ({e.strerror or e}): check the disk") from e
        self._torn_tail = False

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

    def _remember(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        if event == "payment":
            self._payments.setdefault(record["check_ref"], []).append(record)
            self._payment_by_key[record["idempotency_key"]] = record
            return
        if event == "close":
            self._closed.add(record["check_ref"])
            for visit_id, check in list(self._open_of_visit.items()):
                if check["ref"] == record["check_ref"]:
                    del self._open_of_visit[visit_id]  # paid: a later order of the visit starts a new check
            return
        if event == "add":
            check = next(c for c in self._checks if c["ref"] == record["check_ref"])
            check["lines"] = [*check["lines"], *record["lines"]]
            check["total_minor"] += record["total_minor"]
            check["orders"] = [*check["orders"], record["number"]]
            self._by_key[record["idempotency_key"]] = {"order_id": record["order_id"], "ref": check["ref"]}
        else:
            check = {**record, "orders": [record["number"]]}
            self._checks.append(check)
            self._by_key[record["idempotency_key"]] = {"order_id": record["order_id"], "ref": check["ref"]}
            if record.get("visit_id") and self.one_check_per_visit:
                self._open_of_visit[record["visit_id"]] = check
        for line in record.get("lines", []):
            self._catalogue[line["item_id"]] = PosItem(
                line["item_id"], line["name"], line["unit_price_minor"], "", True,
                [PosModifier(name, name, 0) for name in line.get("modifiers", [])])

    def _last_number(self) -> int:
        numbers = [int(c["ref"].removeprefix("CHK-")) for c in self._checks if c.get("ref", "").startswith("CHK-")]
        return max(numbers, default=0)
