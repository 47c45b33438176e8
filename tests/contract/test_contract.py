import msgspec
import pytest

from contract import envelope, messages, money, topics
from contract.ids import uuid7


def test_uuid7_is_time_ordered_and_versioned():
    ids = [uuid7() for _ in range(50)]
    assert all(i[14] == "7" and i[19] in "89ab" for i in ids)
    assert len(set(ids)) == 50
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # the millisecond prefix never goes back


def test_envelope_round_trip():
    data = messages.OrderPlaced(order_id="o1", number=7, table_id="t1", table_name="Table 1",
                                placed_at="2026-11-24T12:00:00Z", currency="EUR", total_minor=1250,
                                lines=[messages.OrderLine(item_id="soup", name="Soup", qty=1,
                                                          unit_price_minor=1250, line_total_minor=1250)])
    raw = envelope.encode("agent-1", 3, data)
    env = envelope.decode(raw)
    assert (env.type, env.agent_id, env.seq) == ("order.placed", "agent-1", 3)
    assert envelope.decode_data(env) == data


@pytest.mark.parametrize(("payload", "words"), [
    (b"not json", "bad envelope"),
    (b'{"id": "x", "type": "ack", "agent_id": "a", "seq": -1, "sent_at": "", "data": {}}', "seq"),
    (b'{"id": "x", "type": "ack", "agent_id": "a/b", "seq": 1, "sent_at": "", "data": {}}', "agent id"),
    (b'{"id": "x", "type": "ack", "agent_id": "a", "seq": 1, "sent_at": "", "data": {}, "extra": 1}', "extra"),
    (b'{"id": "x", "type": "ack", "agent_id": "a", "sent_at": "", "data": {}}', "seq"),
])
def test_bad_envelopes_say_what_is_wrong(payload, words):
    with pytest.raises(envelope.InvalidMessage, match=words):
        envelope.decode(payload)


def test_bad_data_and_unknown_type():
    env = envelope.decode(b'{"id": "x", "type": "ack", "agent_id": "a", "seq": 1, "sent_at": "", "data": {"ids": 5}}')
    with pytest.raises(envelope.InvalidMessage, match="bad ack data"):
        envelope.decode_data(env)
    env = envelope.decode(b'{"id": "x", "type": "nope", "agent_id": "a", "seq": 1, "sent_at": "", "data": {}}')
    with pytest.raises(envelope.InvalidMessage, match="unknown message type"):
        envelope.decode_data(env)


def test_only_message_types_can_be_encoded():
    class Other(msgspec.Struct):
        x: int

    with pytest.raises(TypeError):
        envelope.encode("a", 1, Other(x=1))


def test_topics():
    assert topics.up("a-1", "order.placed") == "tableside/v1/up/a-1/order.placed"
    assert topics.parse("tableside/v1/down/a-1/ack") == ("down", "a-1", "ack")
    for bad in ("tableside/v2/up/a/x", "tableside/v1/sideways/a/x", "tableside/v1/up/a"):
        with pytest.raises(ValueError):
            topics.parse(bad)
    for bad_id in ("a/b", "+", "#", "", "x" * 65):
        with pytest.raises(ValueError):
            topics.up(bad_id, "x")


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (1250, "EUR", "12.50 EUR"), (5, "USD", "0.05 USD"), (1200, "JPY", "1200 JPY"),
    (1250, "KWD", "1.250 KWD"), (-99, "GBP", "-0.99 GBP"),
])
def test_money_formatting(amount, currency, text):
    assert money.format_minor(amount, currency) == text


def test_unknown_currency():
    with pytest.raises(ValueError, match="XXX"):
        money.exponent("XXX")
