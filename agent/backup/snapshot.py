"""A consistent copy of the live database, and the bundle a backup seals.

SQLite's online backup API copies the whole file in one step on a connection of its own: one read
transaction, so the copy is the database as of one commit, while the writer thread goes on
committing orders (WAL: readers never block the writer). Never a file copy of a live database,
which can catch a half-written page or miss what is still in the WAL. The copy lands in memory,
is checked (`PRAGMA quick_check`) and serialised; nothing of it touches the event loop.

The bundle (msgpack, then zlib) holds the database, the pay-link key (agent_key.pem: pay links
already handed to diners keep verifying) and the running configuration (printers, POS, tables):
everything a replacement box needs that the hub cannot give it back.
"""

import sqlite3
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from agent.link.identity import KEY_FILE

BUNDLE_VERSION = 1
FILES = (KEY_FILE,)  # beside the database in data_dir; the TLS key never leaves the box


class SnapshotFailed(RuntimeError):
    pass


class Bundle(msgspec.Struct, forbid_unknown_fields=False):
    v: int
    database: bytes
    files: dict[str, bytes]
    config: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    bundle: bytes  # compressed, not yet sealed
    created_at: datetime
    outbox_seq: int  # the highest seq in the copy's outbox: the link continues from here
    database_bytes: int


def copy_database(path: Path) -> bytes:
    """The database as of one commit, checked, as bytes."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(":memory:")
    try:
        source.backup(target)  # pages=-1: the whole file in one step, one read transaction
        verdict = target.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise SnapshotFailed(f"the database copy failed its check: {verdict}")
        image = bytearray(target.serialize())
        # The copy keeps the source's WAL marks (header bytes 18-19 = 2), and a WAL database cannot be
        # opened from memory: mark it a rollback-journal file (1, 1). The agent sets WAL again on open.
        image[18:20] = b"\x01\x01"
        return bytes(image)
    finally:
        target.close()
        source.close()


def outbox_seq_of(database: bytes) -> int:
    db = sqlite3.connect(":memory:")
    try:
        db.deserialize(database)
        row = db.execute("SELECT MAX(seq) FROM outbox").fetchone()
        return int(row[0] or 0)
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def take(db_path: Path, data_dir: Path, config: dict[str, Any]) -> Snapshot:
    """Blocking: run it on a thread."""
    created_at = datetime.now(UTC)
    database = copy_database(db_path)
    files = {name: (Path(data_dir) / name).read_bytes() for name in FILES if (Path(data_dir) / name).exists()}
    raw = msgspec.msgpack.encode(Bundle(v=BUNDLE_VERSION, database=database, files=files, config=config))
    return Snapshot(bundle=zlib.compress(raw, 1), created_at=created_at, outbox_seq=outbox_seq_of(database),
                    database_bytes=len(database))


def unpack(bundle: bytes) -> Bundle:
    try:
        found = msgspec.msgpack.decode(zlib.decompress(bundle), type=Bundle)
    except (zlib.error, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SnapshotFailed(f"the backup's contents cannot be read: {exc}") from None
    if found.v != BUNDLE_VERSION:
        raise SnapshotFailed(f"this backup was made by a newer version (bundle v{found.v}): upgrade this box first")
    return found
