"""Structured logs: one line per event, the message plus its `extra=` fields, as key=value text
(for people at a terminal) or as one JSON object per line (`log_format = "json"`, for a log
collector).

Callers pass facts through `extra` (ids, counts, errors), never secrets, card data or guests'
personal data; every line also goes through tableside/redaction.py, which masks what slipped
through anyway, in both formats.
"""

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any

from tableside.redaction import redact, redact_field, redact_text

FORMATS = ("text", "json")
ENV_FORMAT = "TABLESIDE_LOG_FORMAT"  # over the config's log_format, for every command

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
# Libraries that narrate every packet or state change at INFO.
_CHATTY = ("amqtt", "transitions", "alembic", "aiohttp.access")


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class Redacting(logging.Filter):
    """Masks secrets and card data in the message and the extra fields before any formatter
    sees them (the record is changed in place: the message is formatted once, here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a caller's bad format string: still log what it gave, never raise at it
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        for key, value in extras(record).items():
            setattr(record, key, redact_field(key, value))
        return True


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields = " ".join(f"{k}={_value(v)}" for k, v in extras(record).items())
        if fields:
            line += " " + fields
        if record.exc_info:
            line += "\n" + redact_text(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", the extra fields..., "exception"} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for key, value in extras(record).items():
            entry[key if key not in entry else f"extra_{key}"] = value
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact_text(self.formatStack(record.stack_info))
        # default=str: an extra that JSON cannot hold (a Path, a datetime) is written as its text
        return json.dumps(entry, default=lambda v: redact(str(v)), ensure_ascii=False)


def _value(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise ValueError(f"expected one of {', '.join(FORMATS)}, got {value!r}")
    return value


def setup(level: int = logging.INFO, log_format: str | None = None, *, stream: IO[str] | None = None) -> None:
    """Log to stderr (or `stream`) in `log_format` ("text" or "json"; TABLESIDE_LOG_FORMAT, when
    set, wins)."""
    chosen = os.environ.get(ENV_FORMAT) or log_format or "text"
    try:
        check_format(chosen)
    except ValueError as exc:
        raise ValueError(f"log format ({ENV_FORMAT} or log_format): {exc}") from None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else KeyValueFormatter())
    handler.addFilter(Redacting())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
