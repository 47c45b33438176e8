"""The link's hot path below aiomqtt: paho's callback straight into the intake, PUBACKs when done,
acks published without a future, and the connection's end as something to await.

aiomqtt 2 turns each message into a Message of its own, puts it on a queue and hands it out
through an iterator that makes a task and an `asyncio.wait` per message; each QoS 1 publish is a
coroutine, a future, and the broker's PUBACK to decode. With 2,000 agents nearly every message
costs an ack publish of its own, so that was most of the event loop's work per message
(bench/README.md, "after the hot path went below aiomqtt"). aiomqtt still connects, subscribes and
publishes the down messages (QoS 1, outboxed, acked by the agents); only the per-message paths
come here. Everything runs on the event loop's thread: aiomqtt drives paho from it (add_reader).

Acks go out at QoS 0. An Ack only ever names messages already committed, and a lost one costs
the agent a resend after its `resend_after`, which the inbox answers as a duplicate with a new
Ack; QoS 1 bought nothing but a PUBACK per Ack to handle.
"""

import asyncio
from collections.abc import Callable

import aiomqtt
import paho.mqtt.client as paho

from hub.link.applying import Incoming


class Wire:
    """One per connection. Call manual_acks(client) before connecting."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._paho: paho.Client = client._client  # noqa: SLF001

    def take(self, deliver: Callable[[Incoming], None]) -> None:
        """From now on every message goes to `deliver` (on the event loop), not to client.messages."""
        def on_message(_client, _userdata, message: paho.MQTTMessage) -> None:
            deliver(Incoming(message.topic, message.payload, bool(message.retain), message.mid, message.qos))

        self._paho.on_message = on_message

    def puback(self, incoming: Incoming) -> None:
        """Done with the message: only now does the broker count it delivered (back-pressure)."""
        if incoming.qos > 0:
            self._paho.ack(incoming.mid, incoming.qos)

    def publish_now(self, topic: str, payload: bytes) -> None:
        """A QoS 0 publish, queued in paho for the socket; MqttError if the connection is gone."""
        info = self._paho.publish(topic, payload, qos=0)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttError(f"could not publish: {paho.error_string(info.rc)}")

    async def ended(self) -> None:
        """Returns never: raises MqttError once the connection ends (as client.messages would)."""
        disconnected = self._client._disconnected  # noqa: SLF001 (aiomqtt's own end-of-connection future)
        try:
            await asyncio.shield(disconnected)  # cancelling us must not cancel aiomqtt's future
        except Exception as exc:
            raise aiomqtt.MqttError(f"link lost: {exc}") from exc
        raise aiomqtt.MqttError("link closed")


def manual_acks(client: aiomqtt.Client) -> None:
    """PUBACK only when the intake is done with a message (hub/link/intake.py, back-pressure).
    aiomqtt 2 has no option for it; its paho client does."""
    client._client.manual_ack_set(True)  # noqa: SLF001
