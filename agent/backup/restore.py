"""Putting a backup in place of a lost database: all checks first, then the files, database last.

Everything that can refuse a backup happens before anything is written: the recovery code (key
id), the authentication tag (a damaged or altered file), the bundle, SQLite's integrity check of
the copy, that it is a Tableside database. Only then are the pay-link key, the recovery code and
the old box's configuration written (each whole, 0600), and the database renamed into place
last, so a refused backup leaves the box as it was and a crash midway is simply run again.

The link continues from the restored outbox. When the hub has applied messages with higher seqs
than the backup holds (the dead box sent them after its last backup), the restored outbox is
moved past them with a delivered marker row, so new messages never reuse a seq the hub has seen
(its state by seq would take them for old news). Message ids decide duplicates at the hub, so the
restored box resending what the hub already applied changes nothing.
"""

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import tomli_w

from agent.backup import recovery_code, sealed, snapshot
from agent.backup.snapshot import Bundle
from agent.link.identity import write_private
from contract import envelope
from contract.ids import uuid7

DATABASE = "agent.sqlite"
RESTORED_CONFIG = "restored-config.toml"
RESTORED_FROM = "restored-from.json"  # which backup this box runs from: pairing it later continues from here
MARKER_TYPE = "restore.marker"  # a delivered outbox row that only carries the seq forward; never sent


class RestoreRefused(ValueError):
    """Nothing was changed; the message says why and what to do."""


@dataclass(frozen=True)
class Opened:
    header: dict[str, Any]
    bundle: Bundle
    outbox_seq: int
    order_ids: frozenset[str] = field(default_factory=frozenset)


def open_backup(blob: bytes, code: str) -> Opened:
    """The backup's contents if `code` opens it and the copy is sound; RestoreRefused saying why."""
    try:
        key = recovery_code.derive(code)
        header, raw = sealed.open_sealed(blob, key)
        bundle = snapshot.unpack(raw)
    except (recovery_code.RecoveryCodeError, sealed.BackupUnreadable, snapshot.SnapshotFailed) as exc:
        raise RestoreRefused(str(exc)) from None
    outbox_seq, order_ids = _check_database(bundle.database)
    return Opened(header, bundle, outbox_seq, order_ids)


def _check_database(database: bytes) -> tuple[int, frozenset[str]]:
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(database)
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise RestoreRefused(f"the database in this backup fails SQLite's integrity check ({verdict})")
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"_migrations", "outbox", "orders", "tables"} <= names:
            raise RestoreRefused("this backup does not hold a Tableside agent's database")
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
        orders = frozenset(r[0] for r in db.execute("SELECT id FROM orders"))
        return int(seq), orders
    except sqlite3.DatabaseError as exc:
        raise RestoreRefused(f"the database in this backup cannot be read: {exc}") from None
    finally:
        db.close()


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def config_text(old: dict[str, Any], data_dir: Path) -> str:
    """The old box's configuration (printers, POS, tables, settings) for this box: its own data_dir,
    and no paths to the old box's certificates (pairing gives this box its own)."""
    config = _without_none(old)
    config.setdefault("agent", {})["data_dir"] = str(data_dir)
    for key in ("cafile", "certfile", "keyfile", "tls"):
        config.get("broker", {}).pop(key, None)
    return ("# the configuration of the box this one replaces, restored from its backup\n"
            + tomli_w.dumps(config))


def install(data_dir: Path, opened: Opened, code: str, *, seq_floor: int = 0,
            config_path: Path | None = None) -> Path:
    """Write the restored box into data_dir (an existing database is kept aside); the database's path."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = data_dir / f"{DATABASE}.restoring"
    for leftover in (staging, Path(f"{staging}-wal"), Path(f"{staging}-shm"), Path(f"{staging}-journal")):
        leftover.unlink(missing_ok=True)
    write_private(staging, opened.bundle.database)
    _hold_printer_jobs(staging)
    if seq_floor > opened.outbox_seq:
        _carry_seq(staging, seq_floor)
    for name, content in opened.bundle.files.items():
        if name in snapshot.FILES:
            write_private(data_dir / name, content)
    recovery_code.save(data_dir, code)
    text = config_text(opened.bundle.config, data_dir)
    write_private(data_dir / RESTORED_CONFIG, text.encode(), 0o600)
    if config_path is not None:
        _install_config(Path(config_path), text)
    write_private(data_dir / RESTORED_FROM, json.dumps({
        "agent_id": opened.header.get("agent_id"), "created_at": opened.header.get("created_at"),
        "outbox_seq": opened.outbox_seq, "restored_at": datetime.now(UTC).isoformat()}).encode())
    target = data_dir / DATABASE
    if target.exists():
        aside = data_dir / f"{DATABASE}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{target}{suffix}").exists():
                os.replace(f"{target}{suffix}", f"{aside}{suffix}")
    for suffix in ("-wal", "-shm"):  # a stale WAL beside the restored file would be replayed into it
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    staging.replace(target)
    return target


HELD_WHY = "restored from a backup: it may have printed on the old box. Check the kitchen, then print or drop it"


def _hold_printer_jobs(path: Path) -> None:
    """Tickets queued when the backup was taken most likely printed on the old box seconds later:
    staff decide (held tickets) rather than the kitchen getting them twice. POS jobs stay queued:
    the POS drops a repeat by its idempotency key."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("UPDATE device_jobs SET status = 'held', last_error = ? WHERE status IN ('pending', 'sending') "
                   "AND device != 'pos'", [HELD_WHY])
    finally:
        db.close()


def restored_from(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(data_dir) / RESTORED_FROM).read_text())
    except (FileNotFoundError, ValueError):
        return None


def carry_seq(path: Path, seq_floor: int, *, renumber_since: str) -> int:
    """A box that served offline from a restored file, now paired: the messages it wrote since its
    restore (`renumber_since`, ISO time) took seqs the dead box may have used after the backup, and
    they are newer than anything the hub has: they move above `seq_floor`, in order, same ids. Then
    the outbox continues above the floor. How many moved. On the live file, serialised by SQLite."""
    encoder = msgspec.json.Encoder()
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute("SELECT id, seq, payload FROM outbox WHERE delivered_at IS NULL AND created_at >= ? "
                          "AND seq <= ? ORDER BY seq", [renumber_since, seq_floor]).fetchall()
        top = max(db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0], seq_floor)
        for rank, (message_id, _, payload) in enumerate(rows, start=1):
            env = msgspec.structs.replace(envelope.decode(payload), seq=top + rank)
            db.execute("UPDATE outbox SET seq = ?, payload = ? WHERE id = ?", [top + rank, encoder.encode(env),
                                                                                message_id])
        if db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0] < seq_floor:
            now = datetime.now(UTC).isoformat()
            db.execute("INSERT INTO outbox (id, seq, type, payload, created_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [uuid7(), seq_floor, MARKER_TYPE, b"", now, now])
        db.execute("COMMIT")
        return len(rows)
    finally:
        db.close()


def _carry_seq(path: Path, seq_floor: int) -> None:
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        now = datetime.now(UTC).isoformat()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO outbox (id, seq, type, payload, created_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?)",
                   [uuid7(), seq_floor, MARKER_TYPE, b"", now, now])
        db.execute("COMMIT")
    finally:
        db.close()


def _install_config(path: Path, text: str) -> None:
    """The installer's agent.toml becomes the old box's; what was there is kept beside it."""
    if path.exists():
        os.replace(path, path.with_name(path.name + ".before-restore"))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text.encode(), 0o640)
