"""The local backup directory (`[backup] dir`: a second disk or a USB stick will do).

Files are named by their UTC time (backup-20261202T154500.123456Z.tsb), so the name sorts by age
and says it; each is written whole (a temporary file, fsynced, renamed), so a power cut leaves the
previous backups and no half file.
"""

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.backup import rotation

SUFFIX = ".tsb"
_NAME = re.compile(r"backup-(\d{8}T\d{6}\.\d{6})Z\.tsb")
_STAMP = "%Y%m%dT%H%M%S.%f"


@dataclass(frozen=True)
class LocalBackup:
    path: Path
    created_at: datetime
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def name_for(created_at: datetime) -> str:
    return f"backup-{created_at.astimezone(UTC).strftime(_STAMP)}Z{SUFFIX}"


def time_of(name: str) -> datetime | None:
    found = _NAME.fullmatch(name)
    return datetime.strptime(found.group(1), _STAMP).replace(tzinfo=UTC) if found else None


def write(directory: Path, blob: bytes, created_at: datetime) -> LocalBackup:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name_for(created_at)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return LocalBackup(path, created_at, len(blob))


def listing(directory: Path) -> list[LocalBackup]:
    """Newest first."""
    found = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        created_at = time_of(entry.name)
        if created_at is not None and entry.is_file():
            found.append(LocalBackup(Path(entry.path), created_at, entry.stat().st_size))
    return sorted(found, key=lambda b: b.created_at, reverse=True)


def rotate(directory: Path, *, hourly: int = rotation.HOURLY, daily: int = rotation.DAILY) -> list[Path]:
    """Delete what the rotation no longer keeps; the deleted paths."""
    backups = listing(directory)
    kept = rotation.keep([b.created_at for b in backups], hourly=hourly, daily=daily)
    gone = [b.path for b in backups if b.created_at not in kept]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
