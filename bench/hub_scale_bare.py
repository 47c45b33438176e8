"""The ceiling in bench/hub_scale.py: a bare consumer on the same broker and load as the hub.

paho on its own thread, in its own process, on the hub's shared subscription: it decodes each
message and answers an Ack for it, storing nothing, so what it reaches is what the broker, the
load generator and the machine allow.
"""

import multiprocessing

from contract import envelope, topics
from contract.messages import Ack, Presence


def _consume(port: int, ready) -> None:
    import paho.mqtt.client as paho

    seq = [0]

    def on_connect(client, userdata, flags, reason, properties) -> None:
        client.subscribe(topics.HUB_SHARED_SUBSCRIPTION, qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        ready.set()

    def on_message(client, userdata, message) -> None:
        env = envelope.decode(message.payload)
        if env.type not in (Presence.TYPE, Ack.TYPE):
            seq[0] += 1
            client.publish(topics.down(env.agent_id, Ack.TYPE),
                           envelope.encode(env.agent_id, seq[0], Ack(ids=[env.id])), qos=1)

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.max_inflight_messages_set(1000)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect("127.0.0.1", port)
    client.loop_forever()


class BareConsumer:
    def __init__(self, port: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._ready = ctx.Event()
        self.proc = ctx.Process(target=_consume, args=(port, self._ready), daemon=True)

    def __enter__(self) -> "BareConsumer":
        self.proc.start()
        if not self._ready.wait(30):
            raise RuntimeError("the bare consumer did not subscribe")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.join(10)
