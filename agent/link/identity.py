"""The agent's Ed25519 key: it signs pay links, so the hub can trust a share it never saw.

Made at pairing (agent/link/pairing.py registers its public half with the hub in the same
exchange) or, on a box that was never paired, on first start; in the data directory, readable by
the agent's user only. The public half also travels in the agent's presence message.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.pay_link import public_key_text

KEY_FILE = "agent_key.pem"


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write a file whole (a temporary beside it, renamed) and private from its first byte."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(data_dir: str | Path) -> Ed25519PrivateKey | None:
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_key(data_dir: str | Path) -> Ed25519PrivateKey:
    key = load_key(data_dir)
    if key is not None:
        return key
    key = Ed25519PrivateKey.generate()
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, key_pem(key))
    return key


def public_key_of(key: Ed25519PrivateKey) -> str:
    return public_key_text(key.public_key())
