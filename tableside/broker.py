"""The embedded MQTT broker (amqtt), for `tableside demo` only. Production runs Mosquitto.

amqtt keeps sessions in memory and has no shared subscriptions; the demo's hub therefore
subscribes without `$share`, and the link's outbox, not the broker, carries delivery.
"""

from amqtt.broker import Broker


class EmbeddedBroker:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        })

    async def start(self) -> None:
        await self._broker.start()

    async def stop(self) -> None:
        await self._broker.shutdown()
