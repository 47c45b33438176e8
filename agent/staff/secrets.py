"""Staff PINs and passwords: what is accepted, and argon2 hashes of them.

Hashing takes tens of milliseconds on purpose: callers on the event loop run it in a thread.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

PIN_DIGITS = (4, 8)
PASSWORD_LENGTH = (8, 128)

# Verified when a name is unknown, so a wrong name takes as long as a wrong PIN.
_DUMMY_HASH = _hasher.hash("not-a-real-secret")


class SecretError(ValueError):
    """A PIN or password that is not acceptable; the message says why."""


def secret_kind(secret: object) -> str:
    """ "pin" or "password"; SecretError when it is neither."""
    if not isinstance(secret, str) or not secret:
        raise SecretError("a PIN (4-8 digits) or a password (8 or more characters) is required")
    if secret.isascii() and secret.isdigit():
        low, high = PIN_DIGITS
        if not low <= len(secret) <= high:
            raise SecretError(f"a PIN has {low} to {high} digits")
        return "pin"
    low, high = PASSWORD_LENGTH
    if not low <= len(secret) <= high:
        raise SecretError(f"a password has {low} to {high} characters (or use a PIN of 4-8 digits)")
    return "password"


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """True when secret matches; with no hash, spends the same time and answers False."""
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
