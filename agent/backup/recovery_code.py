"""The restaurant's recovery code: the key of its backups, which the platform never sees.

25 characters of Crockford's base32 (125 random bits) in five groups, printed at pairing for the
manager to keep (docs/recovery.md). The code is random and long, so a fast key derivation (HKDF)
is enough: a slow one (scrypt) only helps codes people choose. From it come the AES-256-GCM key
and a short key id that travels in each backup's header, so a wrong code is told apart from a
damaged file, and the hub can refuse a replacement with the wrong code before it uses anything.

The box keeps the code in {data_dir}/recovery_code (0600): its own disk holds the data in clear
anyway, and a manager can print it again from there (`tableside agent backup code`).
"""

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agent.link.identity import write_private

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS, GROUP = 5, 5
CODE_FILE = "recovery_code"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(f"[{ALPHABET}]{{{GROUPS * GROUP}}}")
_SALT = b"tableside-backup-v1"


class RecoveryCodeError(ValueError):
    """Not a recovery code; the message says what was expected."""


@dataclass(frozen=True)
class BackupKey:
    key: bytes = b""  # 32 bytes, AES-256-GCM
    key_id: str = ""  # 16 hex characters: which code made a backup, not the key itself

    def __repr__(self) -> str:  # never in a log or a traceback
        return f"BackupKey(key_id={self.key_id!r})"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP))
    return "-".join(raw[i:i + GROUP] for i in range(0, len(raw), GROUP))


def normalize(text: str) -> str:
    """The code as used, from what someone typed ("k7qf2 mxd8p ..."); RecoveryCodeError if it cannot be one."""
    raw = re.sub(r"[\s-]", "", text or "").upper().translate(_READ_AS)
    if not _SHAPE.fullmatch(raw):
        raise RecoveryCodeError(f"a recovery code is {GROUPS} groups of {GROUP} letters and digits "
                                "(XXXXX-XXXXX-XXXXX-XXXXX-XXXXX), as printed at pairing")
    return "-".join(raw[i:i + GROUP] for i in range(0, len(raw), GROUP))


def _hkdf(code: str, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(code.encode())


def derive(code: str) -> BackupKey:
    code = normalize(code)
    return BackupKey(key=_hkdf(code, b"aes-256-gcm key", 32), key_id=_hkdf(code, b"key id", 8).hex())


def load(data_dir: Path) -> str | None:
    path = Path(data_dir) / CODE_FILE
    try:
        return normalize(path.read_text())
    except FileNotFoundError:
        return None


def save(data_dir: Path, code: str) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(Path(data_dir) / CODE_FILE, (normalize(code) + "\n").encode())


def load_or_create(data_dir: Path) -> tuple[str, bool]:
    """The box's code, made now if it has none; (code, whether it is new)."""
    code = load(data_dir)
    if code is not None:
        return code, False
    code = new_code()
    save(data_dir, code)
    return code, True
