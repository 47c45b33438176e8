"""Enrollment codes: short enough to read out and type (`K7QF-2MXD`), stored only as a hash.

Eight characters of Crockford's base32 (no I, L, O or U, so nothing reads as something else)
make 40 bits: with codes valid for 30 minutes and failed tries limited per client, guessing gets
nowhere. The hash is looked up, never compared in Python, so no timing tells how close a guess was.
"""

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})  # what people type for what they see
_SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize(text: str) -> str | None:
    """The code as stored, from what someone typed ("k7qf 2mxd", "K7QF-2MXD"); None if it cannot be one."""
    raw = re.sub(r"[\s-]", "", text).upper().translate(_READ_AS)
    return raw if _SHAPE.fullmatch(raw) else None


def code_hash(normalized: str) -> str:
    return hashlib.sha256(f"tableside-enrollment:{normalized}".encode()).hexdigest()
