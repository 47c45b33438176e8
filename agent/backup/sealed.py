"""One backup file: a plaintext header, then the bundle sealed with AES-256-GCM.

    MAGIC | header length (4 bytes, big-endian) | header (JSON) | nonce (12 bytes) | ciphertext+tag

The header says what the file is without the key (agent, time, key id, the outbox's last seq) and
is authenticated with the ciphertext (GCM's associated data), so no byte of the file can change
unnoticed. A random 96-bit nonce per file: a box makes far fewer than 2^32 backups with one key.
"""

import json
import os
import struct
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.backup.recovery_code import BackupKey

MAGIC = b"TABLESIDE-BACKUP-1\n"
MAX_HEADER = 16 * 1024
NONCE = 12


class BackupUnreadable(ValueError):
    """This file cannot be restored; the message says why and what to do."""


class NotABackup(BackupUnreadable):
    pass


class WrongRecoveryCode(BackupUnreadable):
    pass


class BackupDamaged(BackupUnreadable):
    pass


def seal(bundle: bytes, key: BackupKey, header: dict[str, Any]) -> bytes:
    head = json.dumps({**header, "key_id": key.key_id}, sort_keys=True).encode()
    aad = MAGIC + struct.pack(">I", len(head)) + head
    nonce = os.urandom(NONCE)
    return aad + nonce + AESGCM(key.key).encrypt(nonce, bundle, aad)


def _split(blob: bytes) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 4:
        raise NotABackup("not a Tableside backup file")
    (length,) = struct.unpack(">I", blob[len(MAGIC):len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if length > MAX_HEADER or len(blob) < start + length + NONCE + 16:
        raise BackupDamaged("the backup file is cut short or damaged")
    raw = blob[start:start + length]
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise BackupDamaged("the backup file's header is damaged") from None
    aad = blob[:start + length]
    return header, aad, blob[start + length:start + length + NONCE], blob[start + length + NONCE:]


def header_of(blob: bytes) -> dict[str, Any]:
    """What the file says about itself, unverified (the key checks it on open)."""
    return _split(blob)[0]


def open_sealed(blob: bytes, key: BackupKey) -> tuple[dict[str, Any], bytes]:
    """(header, bundle) if `key` sealed exactly this file; BackupUnreadable saying why otherwise."""
    header, aad, nonce, sealed = _split(blob)
    if header.get("key_id") != key.key_id:
        raise WrongRecoveryCode("this recovery code is not the one this restaurant's backups were made with: "
                                "check it against the printed card (nothing was changed)")
    try:
        return header, AESGCM(key.key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise BackupDamaged("the backup file was damaged or altered (its authentication tag does not match)") from None
