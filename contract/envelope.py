"""The link envelope: every message between agent and hub travels inside one.

`data` stays raw until the receiver knows the type, so a message of a type this side does not
know yet can still be recorded and acked instead of breaking the link.
"""

from datetime import UTC, datetime

import msgspec

from contract import messages
from contract.ids import uuid7
from contract.topics import check_agent_id


class Envelope(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: str
    type: str
    agent_id: str
    seq: int
    sent_at: str
    data: msgspec.Raw


class InvalidMessage(ValueError):
    """A payload that is not a valid envelope, or whose data does not match its type."""


_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(agent_id: str, seq: int, data: msgspec.Struct, *, id: str | None = None,
           sent_at: str | None = None) -> bytes:
    """Wrap a message struct (one of contract.messages) into envelope bytes."""
    type_ = messages.type_of(data)
    env = Envelope(
        id=id or uuid7(),
        type=type_,
        agent_id=check_agent_id(agent_id),
        seq=seq,
        sent_at=sent_at or now_iso(),
        data=msgspec.Raw(_encoder.encode(data)),
    )
    return _encoder.encode(env)


def decode(payload: bytes) -> Envelope:
    """Parse the envelope only; InvalidMessage says what is wrong."""
    try:
        env = _envelope_decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidMessage(f"bad envelope: {exc}") from None
    if env.seq < 0:
        raise InvalidMessage("bad envelope: seq must be >= 0")
    try:
        check_agent_id(env.agent_id)
    except ValueError as exc:
        raise InvalidMessage(f"bad envelope: {exc}") from None
    return env


def decode_data(env: Envelope) -> msgspec.Struct:
    """The typed data of an envelope; InvalidMessage for an unknown type or bad fields."""
    cls = messages.by_type(env.type)
    if cls is None:
        raise InvalidMessage(f"unknown message type {env.type!r}")
    try:
        return msgspec.json.decode(env.data, type=cls)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidMessage(f"bad {env.type} data: {exc}") from None
