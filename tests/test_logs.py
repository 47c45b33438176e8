"""Logs: one JSON object per line when asked (config or TABLESIDE_LOG_FORMAT), key=value text
otherwise, and no secrets or card data in either, whatever a caller or a library puts in them."""

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tableside import logs
from tableside.redaction import redact_text, sensitive_key
from tests.services import free_port
from tests.waiting import eventually

SECRETS = [
    "sk_live_51HxYzAbCdEf0123456789",  # a Stripe secret key
    "whsec_9f8e7d6c5b4a3210",  # a webhook secret
    "eyJhbGciOiJIUzI1NiJ9.payload.sig",  # a bearer token
    "hunter2-staff-password",
    "4242424242424242",  # a card number (Luhn-valid)
    "5555 5555 5555 4444",  # one with spaces
    "tbl_0123456789abcdef",  # a table token
    "123",  # a CVC
]


@pytest.fixture
def logged():
    """setup() into a buffer; the root logger's handlers (pytest's own) put back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    buffer = io.StringIO()

    def start(log_format: str | None) -> io.StringIO:
        logs.setup(logging.DEBUG, log_format, stream=buffer)
        return buffer

    yield start
    root.handlers[:] = saved
    root.setLevel(level)


def log_everything_secret(log: logging.Logger) -> None:
    log.info("staff signed in with password=%s from the tablet", SECRETS[3],
             extra={"authorization": f"Bearer {SECRETS[2]}", "table_token": SECRETS[6], "order_id": "ord-1",
                    "items": 3, "card": {"number": SECRETS[4], "cvc": SECRETS[7]}, "pan": SECRETS[5]})
    log.warning("stripe answered for key %s, signing with %s", SECRETS[0], SECRETS[1])
    log.info("diner typed %s into the note", SECRETS[5])
    log.info("a card number as a number", extra={"number": int(SECRETS[4])})
    try:
        raise RuntimeError(f"upstream refused Authorization: Bearer {SECRETS[2]} (card {SECRETS[4]})")
    except RuntimeError:
        log.exception("request failed", extra={"attempt": 2})


def test_json_logs_are_one_object_per_line_without_secrets(logged):
    out = logged("json")
    log_everything_secret(logging.getLogger("hub.test"))
    text = out.getvalue()
    for secret in SECRETS:
        assert secret not in text, secret
    lines = text.splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(entries) == 5 and all(line.startswith("{") for line in lines)  # the traceback too is inside
    first = entries[0]
    assert first["level"] == "INFO" and first["logger"] == "hub.test" and first["time"].endswith("Z")
    assert first["message"] == "staff signed in with password=[redacted] from the tablet"
    assert first["order_id"] == "ord-1" and first["items"] == 3  # facts stay, with their JSON types
    assert first["authorization"] == first["table_token"] == first["card"] == first["pan"] == "[redacted]"
    assert entries[1]["message"] == "stripe answered for key [redacted], signing with [redacted]"
    assert entries[2]["message"] == "diner typed [card redacted] into the note"
    assert entries[3]["number"] == "[card redacted]"
    failed = entries[4]
    assert failed["level"] == "ERROR" and failed["attempt"] == 2
    assert "RuntimeError: upstream refused Authorization: Bearer [redacted]" in failed["exception"]
    assert "Traceback" in failed["exception"]


def test_text_logs_are_masked_the_same_way(logged):
    out = logged("text")
    log_everything_secret(logging.getLogger("agent.test"))
    text = out.getvalue()
    for secret in SECRETS:
        assert secret not in text, secret
    assert "INFO    agent.test: staff signed in with password=[redacted]" in text
    assert "order_id=ord-1" in text and "table_token=[redacted]" in text


def test_the_environment_picks_the_format_over_the_config(logged, monkeypatch):
    monkeypatch.setenv("TABLESIDE_LOG_FORMAT", "json")
    out = logged("text")
    logging.getLogger("x").info("hello", extra={"n": 1})
    assert json.loads(out.getvalue()) == {**json.loads(out.getvalue()), "message": "hello", "n": 1}
    monkeypatch.setenv("TABLESIDE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="TABLESIDE_LOG_FORMAT.*expected one of text, json, got 'xml'"):
        logs.setup(logging.INFO)


def test_ordinary_values_are_left_alone():
    for text in ("order 42 total 1250 EUR", "seq=1733151234567", "payment_id=0190a1b2-c3d4 took 12 ms",
                 "phone +33 1 23 45 67 89", "ip 192.168.1.20", "shipping=2 spin=3 at 10:30",
                 "agent key stored (first seen) agent=box-1"):
        assert redact_text(text) == text
    assert redact_text("4242 4242 4242 4241") == "4242 4242 4242 4241"  # fails the Luhn check: not a card
    assert redact_text("retry api_key=abc123 refresh-token: 'x y' pin=1234") == \
        "retry api_key=[redacted] refresh-token: [redacted] pin=[redacted]"
    assert not any(sensitive_key(k) for k in ("monkey", "company", "order_id", "keyboard_layout", "spin"))
    assert all(sensitive_key(k) for k in ("apiKey", "X-Api-Key", "refresh_token", "card_number", "cvc", "PIN"))


@pytest.mark.parametrize("side", ["hub", "agent"])
def test_a_running_service_logs_json_when_its_config_says_so(side, tmp_path):
    """The real command, configured through its own environment override (TABLESIDE_HUB_LOG_FORMAT,
    TABLESIDE_AGENT_LOG_FORMAT): every line it writes is a JSON object."""
    prefix = f"TABLESIDE_{side.upper()}_"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLESIDE_")}
    env.update({f"{prefix}LOG_FORMAT": "json", f"{prefix}DATA_DIR": str(tmp_path / side),
                f"{prefix}HTTP_PORT": "0", f"{prefix}BROKER_PORT": str(free_port())})  # no broker: it says so
    if side == "hub":
        env[f"{prefix}OPERATOR_TOKEN"] = "operator-token-for-the-log-test-0123"
    err = tmp_path / "stderr"
    with open(err, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "tableside.cli", side, "run"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        # the link's first failed connect is logged once the service is up
        def said_link() -> bool:
            assert proc.poll() is None, Path(err).read_text()
            return "link" in err.read_text() and err.read_text().endswith("\n")
        asyncio.run(eventually(said_link, within=60, every=0.1, what=f"the {side} starting"))
    finally:
        proc.terminate()
        proc.wait(30)
    lines = err.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert len(entries) >= 2 and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    assert any(e["logger"].startswith(f"{side}.link") for e in entries)
