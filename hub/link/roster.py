"""Who may talk on the link: only agents the hub enrolled, and not revoked.

The broker fences topics by certificate, but the hub does not rely on it alone: Mosquitto keeps a
revoked agent's live connection open, a misconfigured broker lets anyone in, and the demo's broker
has no ACL at all. So every up-message's sender (the agent id in its topic) is checked here before
anything is written: a message from an unknown or revoked id creates nothing, is not acked (the
sender learns nothing), and its sender is recorded in `refused_senders` so an operator can see who
knocked. That table is bounded (MAX_REFUSED_SENDERS rows) and written at most every
RECORD_EVERY_S per id, so an abuser inventing ids cannot fill the disk or load the database.

Verdicts are cached, and a batch's misses are read in one query. "enrolled" is kept for
ENROLLED_TTL_S: a revoke on this worker forgets it at once (Enrollment's on_revoked), one on another
worker reaches this one within that time (meanwhile its messages are still applied here; the
broker's CRL refuses its next connection). "unknown" and "revoked" are kept VERDICT_TTL_S, so an
agent enrolled through another worker is heard here within a few seconds (its outbox resends what
was refused). At 2,000 agents a 5 s cache missed on ~40 % of messages, each its own query.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from hub.enrollment.records import admissions
from hub.store.tables import refused_senders
from hub.store.upsert import insert_ignore

log = logging.getLogger(__name__)

VERDICT_TTL_S = 5.0  # unknown, revoked
ENROLLED_TTL_S = 30.0
MAX_CACHED = 20_000  # verdicts kept (an LRU): 2,000 agents fit ten times over
MAX_REFUSED_SENDERS = 1_000  # rows in refused_senders at most
RECORD_EVERY_S = 60.0  # per refused id, at most one write this often
MAX_PENDING = 5_000  # refused ids counted in memory between writes at most
MAX_TYPE_CHARS = 64


class Roster:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._verdicts: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id -> (verdict, when)
        self._pending: dict[str, tuple[int, str, str]] = {}  # refused id -> (messages, last type, verdict)
        self._written: dict[str, float] = {}  # refused id -> monotonic time of its last write
        self.refused = 0  # messages refused since start

    async def admits(self, agent_id: str, type_: str) -> bool:
        """True when the agent's messages may be applied; otherwise the refusal is counted."""
        verdict = await self.verdict(agent_id)
        if verdict != "enrolled":
            await self.refuse(agent_id, type_, verdict)
        return verdict == "enrolled"

    async def refuse(self, agent_id: str, type_: str, verdict: str) -> None:
        """Count (and now and then record) a message refused for its sender's verdict."""
        self.refused += 1
        await self._note_refused(agent_id, type_, verdict)

    async def verdict(self, agent_id: str) -> str:
        """"enrolled", "revoked" or "unknown", no older than its TTL."""
        return (await self.verdicts({agent_id}))[agent_id]

    async def verdicts(self, agent_ids: set[str]) -> dict[str, str]:
        """verdict() for many agents: the cached ones, and the rest in one query."""
        now = time.monotonic()
        found, missing = {}, []
        for agent_id in agent_ids:
            cached = self._verdicts.get(agent_id)
            if cached is not None and now - cached[1] < (ENROLLED_TTL_S if cached[0] == "enrolled"
                                                         else VERDICT_TTL_S):
                self._verdicts.move_to_end(agent_id)
                found[agent_id] = cached[0]
            else:
                missing.append(agent_id)
        if missing:
            read = await asyncio.to_thread(self._read, sorted(missing))
            for agent_id, verdict in read.items():
                self._verdicts[agent_id] = (verdict, now)
                self._verdicts.move_to_end(agent_id)
            found.update(read)
            while len(self._verdicts) > MAX_CACHED:
                self._verdicts.popitem(last=False)
        return found

    def forget(self, agent_id: str) -> None:
        """Ask the database next time (this worker just enrolled or revoked the agent)."""
        self._verdicts.pop(agent_id, None)

    def _read(self, agent_ids: list[str]) -> dict[str, str]:
        with self._engine.connect() as conn:
            return admissions(conn, agent_ids)

    async def _note_refused(self, agent_id: str, type_: str, verdict: str) -> None:
        count, _, _ = self._pending.get(agent_id, (0, "", ""))
        if agent_id not in self._pending and len(self._pending) >= MAX_PENDING:
            return  # counted in self.refused only
        self._pending[agent_id] = (count + 1, type_[:MAX_TYPE_CHARS], verdict)
        now = time.monotonic()
        if now - self._written.get(agent_id, -RECORD_EVERY_S) < RECORD_EVERY_S:
            return
        self._written[agent_id] = now
        if len(self._written) > MAX_PENDING:
            self._written = {k: v for k, v in self._written.items() if now - v < RECORD_EVERY_S}
        messages, last_type, verdict = self._pending.pop(agent_id)
        log.warning("messages refused from a sender the hub did not enroll agent=%s verdict=%s type=%s messages=%d",
                    agent_id, verdict, last_type, messages)
        try:
            await asyncio.to_thread(self._record, agent_id, messages, last_type, verdict)
        except Exception:  # the record is for operators; the refusal stands without it
            log.exception("could not record a refused sender agent=%s", agent_id)

    def _record(self, agent_id: str, messages: int, last_type: str, verdict: str) -> None:
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            updated = conn.execute(update(refused_senders).where(refused_senders.c.agent_id == agent_id).values(
                messages=refused_senders.c.messages + messages, last_at=now, last_type=last_type,
                verdict=verdict)).rowcount
            if not updated and _count(conn) < MAX_REFUSED_SENDERS:
                insert_ignore(conn, refused_senders, {"agent_id": agent_id, "first_at": now, "last_at": now,
                                                      "messages": messages, "last_type": last_type,
                                                      "verdict": verdict})


def _count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(refused_senders)).scalar_one()


def refused_list(conn: Connection, limit: int = 100) -> list[dict]:
    """The most recent refused senders, for operators."""
    rows = conn.execute(select(refused_senders).order_by(refused_senders.c.last_at.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]
