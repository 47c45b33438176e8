"""Enrollment in the database: codes, enrolled and revoked agents, issued certificates.

Functions on a Connection, so the caller decides the transaction: a code is redeemed, its agent
created and its certificate recorded in one, or none of it happens.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, any_, bindparam, select, update
from sqlalchemy.dialects import postgresql

from contract.ids import uuid7
from hub.store.enrollment_tables import agent_certificates, enrollment_codes
from hub.store.payment_tables import restaurant_agents
from hub.store.tables import agents
from hub.store.upsert import insert_ignore

Row = dict[str, Any]


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- codes ---

def create_code(conn: Connection, restaurant_id: str, code_hash: str, *, minutes: float, replaces: bool,
                now: datetime) -> Row:
    row = {"id": f"enc_{uuid7()}", "restaurant_id": restaurant_id, "code_hash": code_hash, "replaces": replaces,
           "created_at": now, "expires_at": now + timedelta(minutes=minutes)}
    conn.execute(enrollment_codes.insert().values(row))
    return code_view(row, now)


def code_view(row: Row, now: datetime) -> Row:
    """A code as operators see it: never its value or its hash."""
    if row.get("used_at"):
        state = "used"
    elif row.get("cancelled_at"):
        state = "cancelled"
    elif row["expires_at"] <= now:
        state = "expired"
    else:
        state = "active"
    return {"id": row["id"], "restaurant_id": row["restaurant_id"], "replaces": bool(row["replaces"]),
            "state": state, "created_at": row["created_at"], "expires_at": row["expires_at"],
            "used_at": row.get("used_at"), "used_by": row.get("used_by"), "cancelled_at": row.get("cancelled_at")}


def list_codes(conn: Connection, restaurant_id: str, now: datetime) -> list[Row]:
    rows = conn.execute(select(enrollment_codes).where(enrollment_codes.c.restaurant_id == restaurant_id)
                        .order_by(enrollment_codes.c.created_at.desc())).mappings()
    return [code_view(dict(r), now) for r in rows]


def cancel_code(conn: Connection, code_id: str, now: datetime) -> Row | None:
    """Cancel a code not used yet; the code as it now stands, or None if there is no such code."""
    conn.execute(update(enrollment_codes).where(
        enrollment_codes.c.id == code_id, enrollment_codes.c.used_at.is_(None),
        enrollment_codes.c.cancelled_at.is_(None)).values(cancelled_at=now))
    row = conn.execute(select(enrollment_codes).where(enrollment_codes.c.id == code_id)).mappings().first()
    return code_view(dict(row), now) if row else None


def redeem(conn: Connection, code_hash: str, agent_id: str, now: datetime) -> Row | None:
    """Use the code once: the one UPDATE that marks it used succeeds for one request only, however
    many race. None when it is wrong, used, expired or cancelled (the caller does not say which)."""
    row = conn.execute(
        update(enrollment_codes)
        .where(enrollment_codes.c.code_hash == code_hash, enrollment_codes.c.used_at.is_(None),
               enrollment_codes.c.cancelled_at.is_(None), enrollment_codes.c.expires_at > now)
        .values(used_at=now, used_by=agent_id)
        .returning(*enrollment_codes.c)).mappings().first()
    return dict(row) if row else None


# --- agents ---

def add_agent(conn: Connection, agent_id: str, *, name: str, now: datetime, restaurant_id: str | None = None,
              public_key: str | None = None) -> None:
    """An enrolled agent: its messages are applied from now on. Also how an operator vouches for an
    agent id bound to a restaurant by hand (the manual path, docs/security.md)."""
    # ON CONFLICT, not look-then-insert: the agent's presence (another worker, another transaction)
    # may create its row in between, and a plain INSERT would then fail the whole transaction
    if not insert_ignore(conn, agents, {"id": agent_id, "name": name, "created_at": now, "enrolled_at": now,
                                        "public_key": public_key}):
        existing = conn.execute(select(agents.c.enrolled_at).where(agents.c.id == agent_id)).one()
        values: dict[str, Any] = {"revoked_at": None}
        if existing.enrolled_at is None:
            values["enrolled_at"] = now
        if public_key is not None:
            values.update(public_key=public_key, refused_key=None)
        conn.execute(update(agents).where(agents.c.id == agent_id).values(values))
    if restaurant_id is not None:
        insert_ignore(conn, restaurant_agents, {"agent_id": agent_id, "restaurant_id": restaurant_id})


def admission(conn: Connection, agent_id: str) -> str:
    """"enrolled", "revoked" or "unknown": whether the hub applies this agent id's messages."""
    row = conn.execute(select(agents.c.enrolled_at, agents.c.revoked_at).where(agents.c.id == agent_id)).first()
    if row is None or row.enrolled_at is None:
        return "unknown"
    return "revoked" if row.revoked_at is not None else "enrolled"


def admissions(conn: Connection, agent_ids: list[str]) -> dict[str, str]:
    """admission() for many agents in one query (on PostgreSQL `id = ANY(:ids)`, one array
    parameter whatever the count, so one cached plan)."""
    if not agent_ids:
        return {}
    if conn.dialect.name == "postgresql":
        match = agents.c.id == any_(bindparam("ids", agent_ids, type_=postgresql.ARRAY(agents.c.id.type)))
    else:
        match = agents.c.id.in_(agent_ids)
    verdicts = dict.fromkeys(agent_ids, "unknown")
    for row in conn.execute(select(agents.c.id, agents.c.enrolled_at, agents.c.revoked_at).where(match)):
        if row.enrolled_at is not None:
            verdicts[row.id] = "revoked" if row.revoked_at is not None else "enrolled"
    return verdicts


def agents_of(conn: Connection, restaurant_id: str) -> list[str]:
    return list(conn.execute(select(restaurant_agents.c.agent_id)
                             .where(restaurant_agents.c.restaurant_id == restaurant_id)).scalars())


def revoke_agent(conn: Connection, agent_id: str, reason: str, now: datetime) -> bool:
    """Revoke the agent and every certificate it holds; False when there was nothing to revoke."""
    done = conn.execute(update(agents).where(agents.c.id == agent_id, agents.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount
    conn.execute(update(agent_certificates).where(agent_certificates.c.agent_id == agent_id,
                                                  agent_certificates.c.revoked_at.is_(None))
                 .values(revoked_at=now, reason=reason))
    return bool(done)


# --- certificates ---

def record_certificate(conn: Connection, agent_id: str, serial: int, not_before: datetime, not_after: datetime,
                       now: datetime) -> None:
    conn.execute(agent_certificates.insert().values(serial=format(serial, "x"), agent_id=agent_id,
                                                    not_before=not_before, not_after=not_after, issued_at=now))


def certificate(conn: Connection, serial: int) -> Row | None:
    row = conn.execute(select(agent_certificates).where(agent_certificates.c.serial == format(serial, "x"))
                       ).mappings().first()
    return dict(row) if row else None


def revoked_certificates(conn: Connection, now: datetime) -> list[tuple[int, datetime]]:
    """What the CRL lists: revoked and not yet expired (an expired one is refused anyway)."""
    rows = conn.execute(select(agent_certificates.c.serial, agent_certificates.c.revoked_at).where(
        and_(agent_certificates.c.revoked_at.is_not(None), agent_certificates.c.not_after > now))
        .order_by(agent_certificates.c.serial))
    return [(int(serial, 16), revoked_at) for serial, revoked_at in rows]
