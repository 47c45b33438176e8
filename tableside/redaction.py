"""What never reaches a log line: secrets and card data, masked by key and by the look of the value.

Callers already keep them out (tableside/logs.py); this is the net under them, for a library's
message, an exception that quotes a header, or an `extra=` field named carelessly. By key: a field
whose name has a part like token, secret, password, key, authorization, cookie, card, pan, cvc or
pin is masked whatever its value. By value, anywhere in a message: bearer credentials, Stripe
keys and webhook secrets, `password=...`-style pairs, and digit runs that are card numbers (13-19
digits, a card network's first digit, a valid Luhn check).
"""

import re
from typing import Any

MASK = "[redacted]"
SENSITIVE_PARTS = frozenset({
    "token", "secret", "password", "passwd", "passphrase", "key", "apikey", "authorization", "auth", "cookie",
    "credential", "credentials", "signature", "card", "pan", "cvc", "cvv", "cvv2", "pin", "iban", "otp",
})
_PARTS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_STRIPE = re.compile(r"\b(?:(?:sk|rk|pk)_(?:live|test)|whsec)_[A-Za-z0-9]+")
# name=value or name: value in running text; masked when the name is sensitive (sensitive_key)
_PAIR = re.compile(r"\b([A-Za-z][A-Za-z0-9_.-]*)(\s*[=:]\s*)(?!(?:bearer|basic)\s)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)",
                   re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<![\d.])[2-6](?:[ -]?\d){12,18}(?![\d.])")


def sensitive_key(key: str) -> bool:
    parts = _PARTS.split(_CAMEL.sub("_", key).lower())
    return any(part in SENSITIVE_PARTS for part in parts)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card redacted]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _STRIPE.sub(MASK, text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}" if sensitive_key(m.group(1)) else m.group(0),
                     text)
    return _DIGIT_RUN.sub(_card, text)


def redact(value: Any) -> Any:
    """A log field's value with secrets masked, containers walked (their own keys checked too)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and sensitive_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", errors="replace"))
    if isinstance(value, int) and not isinstance(value, bool):  # a card number passed as a number
        masked = redact_text(str(value))
        return value if masked == str(value) else masked
    return value


def redact_field(key: str, value: Any) -> Any:
    return MASK if sensitive_key(key) else redact(value)
