"""An agent's end of the link, as the contract has it, for hub tests over a real broker.

It does what agent/link/pump.py and agent/link/inbox.py promise the hub, and no more: messages
with a seq each, kept until the hub acks them and sent again when an ack is overdue or the hub
says hello (an Ack with no ids, after a worker restarts); a retained presence with the pay-link
key and a last will; every down-message applied once by id and acked, duplicates included.
The real agent is not used because these tests are about the hub: what the agent sends is
chosen by the test, not by a restaurant's bill.
"""

import asyncio
import contextlib
import time
from collections import deque

import aiomqtt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509 import CertificateSigningRequestBuilder, Name, NameAttribute
from cryptography.x509.oid import NameOID

from contract import envelope, pay_link, topics
from contract.envelope import Envelope
from contract.messages import Ack, Presence

RESEND_AFTER_S = 3.0  # the real agent waits 15 s; a test should not
WINDOW = 20  # unacked at most, as the agent's link.window (200 there): traffic then spans time


class LinkAgent:
    def __init__(self, agent_id: str, broker_port: int, key: Ed25519PrivateKey, *,
                 resend_after: float = RESEND_AFTER_S, window: int = WINDOW) -> None:
        self.agent_id = agent_id
        self.key = key
        self._port = broker_port
        self._resend_after = resend_after
        self._window = window
        self._outbox: deque[tuple[str, str, bytes]] = deque()  # (id, topic, body) not sent yet
        self._seq = 0
        self.unacked: dict[str, tuple[str, bytes, float]] = {}  # in flight: id -> (topic, body, last sent)
        self.acked: set[str] = set()
        self.sent: dict[str, str] = {}  # every id sent -> its type
        self.received: dict[str, Envelope] = {}  # down-messages applied, by id (once each)
        self.hellos = 0  # hub workers that said they (re)started
        self._client: aiomqtt.Client | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stack = contextlib.AsyncExitStack()

    def _presence(self, online: bool) -> bytes:
        public = pay_link.public_key_text(self.key.public_key())
        return envelope.encode(self.agent_id, 0, Presence(online=online, public_key=public))

    async def __aenter__(self) -> "LinkAgent":
        will = aiomqtt.Will(topics.up(self.agent_id, Presence.TYPE), self._presence(False), qos=1, retain=True)
        self._client = await self._stack.enter_async_context(aiomqtt.Client(
            "127.0.0.1", self._port, identifier=f"test-{self.agent_id}", will=will, max_inflight_messages=100))
        self._client.pending_calls_threshold = 2 * self._window + 10  # a window in flight is normal here
        await self._client.subscribe(topics.agent_subscription(self.agent_id), qos=1)
        await self._client.publish(topics.up(self.agent_id, Presence.TYPE), self._presence(True), qos=1, retain=True)
        for job in (self._read(), self._resend()):
            self._tasks.add(asyncio.create_task(job))
        return self

    async def __aexit__(self, *exc) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    def send(self, data) -> str:
        """Put a message in the outbox; it is published when the window has room. Its id."""
        self._seq += 1
        body = envelope.encode(self.agent_id, self._seq, data)
        message_id = envelope.decode(body).id
        self.sent[message_id] = data.TYPE
        self._outbox.append((message_id, topics.up(self.agent_id, data.TYPE), body))
        self._fill()
        return message_id

    @property
    def waiting(self) -> int:
        """Messages not acked yet: in flight or still in the outbox."""
        return len(self.unacked) + len(self._outbox)

    def _fill(self) -> None:
        while self._outbox and len(self.unacked) < self._window:
            message_id, topic, body = self._outbox.popleft()
            self.unacked[message_id] = (topic, body, time.monotonic())
            self._publish(topic, body)

    def _publish(self, topic: str, body: bytes) -> None:
        # not awaited in line: a publish waits for its PUBACK, and the outbox keeps going meanwhile
        task = asyncio.create_task(self._client.publish(topic, body, qos=1, timeout=30))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_again(self, older_than: float) -> None:
        now = time.monotonic()
        for message_id, (topic, body, at) in list(self.unacked.items()):
            if now - at >= older_than:
                self.unacked[message_id] = (topic, body, now)
                self._publish(topic, body)

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(self._resend_after / 3)
            self._send_again(self._resend_after)

    async def _read(self) -> None:
        async for message in self._client.messages:
            env = envelope.decode(message.payload)
            data = envelope.decode_data(env)
            if isinstance(data, Ack):
                if not data.ids:  # a hub worker (re)started: what it had in flight is lost, send it now
                    self.hellos += 1
                    self._send_again(0)
                for message_id in data.ids:
                    if self.unacked.pop(message_id, None) is not None:
                        self.acked.add(message_id)
                self._fill()
                continue
            self.received.setdefault(env.id, env)
            self._publish(topics.up(self.agent_id, Ack.TYPE),
                          envelope.encode(self.agent_id, 0, Ack(ids=[env.id])))  # acks are not outboxed

    def down_of(self, type_: str) -> list:
        """The data of every down-message of this type applied, once each."""
        return [envelope.decode_data(env) for env in self.received.values() if env.type == type_]


def enrollment_request(code: str, key: Ed25519PrivateKey) -> dict:
    """What `tableside agent setup` posts to /api/v1/enroll: the code, a CSR for a fresh P-256 TLS
    key (kept by the box) and the pay-link public key."""
    tls_key = ec.generate_private_key(ec.SECP256R1())
    csr = (CertificateSigningRequestBuilder().subject_name(Name([NameAttribute(NameOID.COMMON_NAME, "box")]))
           .sign(tls_key, hashes.SHA256()))
    return {"code": code, "csr": csr.public_bytes(serialization.Encoding.PEM).decode(),
            "signing_key": pay_link.public_key_text(key.public_key())}
