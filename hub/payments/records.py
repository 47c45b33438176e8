"""Blocking reads and writes of the payment tables on an open Connection.

The service (hub/payments/service.py) composes these inside one transaction each, so a payment,
its ledger entries and the message to the agent commit together or not at all.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract.ids import uuid7
from hub.payments.fees import FeePlan
from hub.payments.ledger import Entry, check_balanced
from hub.store.payment_tables import (
    checkout_attempts,
    ledger_entries,
    payments,
    refunds,
    restaurant_agents,
    restaurants,
    stripe_events,
)
from hub.store.tables import agent_bills
from hub.store.upsert import insert_ignore

Row = dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


def _one(conn: Connection, stmt: Any) -> Row | None:
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def _insert_unless_conflict(conn: Connection, table: Table, row: Row) -> bool:
    """INSERT .. ON CONFLICT DO NOTHING on any unique key (upsert.insert_ignore covers the primary key
    only); True when the row went in. The database settles races, no IntegrityError aborts the transaction."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values(**row).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(stmt).first() is not None


# --- restaurants ---

def fee_plan(restaurant: Row) -> FeePlan:
    return FeePlan(basis_points=restaurant["fee_basis_points"], fixed_minor=restaurant["fee_fixed_minor"],
                   min_minor=restaurant["fee_min_minor"], cap_minor=restaurant["fee_cap_minor"],
                   fee_on_tips=restaurant["fee_on_tips"])


def plan_columns(plan: FeePlan) -> Row:
    return {"fee_basis_points": plan.basis_points, "fee_fixed_minor": plan.fixed_minor,
            "fee_min_minor": plan.min_minor, "fee_cap_minor": plan.cap_minor, "fee_on_tips": plan.fee_on_tips}


def restaurant(conn: Connection, restaurant_id: str) -> Row | None:
    return _one(conn, select(restaurants).where(restaurants.c.id == restaurant_id))


def restaurant_by_account(conn: Connection, account_id: str) -> Row | None:
    return _one(conn, select(restaurants).where(restaurants.c.stripe_account_id == account_id))


def restaurant_of_agent(conn: Connection, agent_id: str) -> Row | None:
    return _one(conn, select(restaurants).join(restaurant_agents, restaurant_agents.c.restaurant_id == restaurants.c.id)
                .where(restaurant_agents.c.agent_id == agent_id))


def agents_of(conn: Connection, restaurant_id: str) -> list[str]:
    return list(conn.execute(select(restaurant_agents.c.agent_id)
                             .where(restaurant_agents.c.restaurant_id == restaurant_id)
                             .order_by(restaurant_agents.c.agent_id)).scalars())


def bound_elsewhere(conn: Connection, agent_ids: Iterable[str], restaurant_id: str) -> list[str]:
    """Agents among agent_ids that already belong to another restaurant."""
    return list(conn.execute(select(restaurant_agents.c.agent_id).where(
        restaurant_agents.c.agent_id.in_(list(agent_ids)), restaurant_agents.c.restaurant_id != restaurant_id)
    ).scalars())


def all_restaurants(conn: Connection) -> list[Row]:
    return [dict(r) for r in conn.execute(select(restaurants).order_by(restaurants.c.created_at, restaurants.c.id))
            .mappings()]


# --- checkout attempts ---

def bill_done(conn: Connection, agent_id: str, bill_id: str) -> bool:
    """Whether the agent last reported the bill settled or closed (bill.changed): nothing of it is
    left to pay, so a share of it, released or not, may take no more money."""
    status = conn.execute(select(agent_bills.c.status).where(
        agent_bills.c.agent_id == agent_id, agent_bills.c.bill_id == bill_id)).scalar()
    return status in ("settled", "closed")


# Shares are named by their agent (agent_id, share_id): one agent's share id never reaches another's.

def latest_attempt(conn: Connection, agent_id: str, share_id: str) -> Row | None:
    return _one(conn, select(checkout_attempts).where(checkout_attempts.c.agent_id == agent_id,
                                                      checkout_attempts.c.share_id == share_id)
                .order_by(checkout_attempts.c.attempt.desc()).limit(1))


def attempt(conn: Connection, attempt_id: str) -> Row | None:
    return _one(conn, select(checkout_attempts).where(checkout_attempts.c.id == attempt_id))


def attempt_by_session(conn: Connection, session_id: str) -> Row | None:
    return _one(conn, select(checkout_attempts).where(checkout_attempts.c.session_id == session_id))


def attempt_by_share(conn: Connection, agent_id: str, share_id: str, number: int) -> Row | None:
    return _one(conn, select(checkout_attempts).where(checkout_attempts.c.agent_id == agent_id,
                                                      checkout_attempts.c.share_id == share_id,
                                                      checkout_attempts.c.attempt == number))


def insert_attempt(conn: Connection, row: Row) -> bool:
    """False when the share already has an attempt with that number (another request won)."""
    return _insert_unless_conflict(conn, checkout_attempts, row)


def set_attempt(conn: Connection, attempt_id: str, *, when_status: Iterable[str] | None = None, **values: Any) -> bool:
    stmt = update(checkout_attempts).where(checkout_attempts.c.id == attempt_id)
    if when_status is not None:
        stmt = stmt.where(checkout_attempts.c.status.in_(list(when_status)))
    return conn.execute(stmt.values(**values).returning(checkout_attempts.c.id)).first() is not None


def open_attempts_past_hold(conn: Connection, provider: str, moment: datetime) -> list[Row]:
    return [dict(r) for r in conn.execute(select(checkout_attempts).where(
        checkout_attempts.c.provider == provider, checkout_attempts.c.status.in_(["open", "creating"]),
        checkout_attempts.c.hold_expires_at < moment)).mappings()]


# --- payments ---

def payment(conn: Connection, payment_id: str) -> Row | None:
    return _one(conn, select(payments).where(payments.c.id == payment_id))


def payment_by_share(conn: Connection, agent_id: str, share_id: str) -> Row | None:
    return _one(conn, select(payments).where(payments.c.agent_id == agent_id, payments.c.share_id == share_id))


def payment_by_intent(conn: Connection, intent_id: str) -> Row | None:
    return _one(conn, select(payments).where(payments.c.payment_intent_id == intent_id))


def payment_by_charge(conn: Connection, charge_id: str) -> Row | None:
    return _one(conn, select(payments).where(payments.c.charge_id == charge_id))


def insert_payment(conn: Connection, row: Row) -> bool:
    """False when the share (or the payment id, or the PaymentIntent) is already recorded."""
    return _insert_unless_conflict(conn, payments, row)


def reserve_refund(conn: Connection, payment_id: str, amount_minor: int) -> bool:
    """Count amount_minor against what is left of the payment; False when it does not fit.

    One conditional UPDATE: two refunds racing for the last euro cannot both fit.
    """
    total = payments.c.amount_minor + payments.c.tip_minor
    stmt = (update(payments)
            .where(payments.c.id == payment_id, payments.c.refund_reserved_minor + amount_minor <= total)
            .values(refund_reserved_minor=payments.c.refund_reserved_minor + amount_minor)
            .returning(payments.c.id))
    return conn.execute(stmt).first() is not None


def release_refund(conn: Connection, payment_id: str, amount_minor: int) -> None:
    conn.execute(update(payments).where(payments.c.id == payment_id)
                 .values(refund_reserved_minor=payments.c.refund_reserved_minor - amount_minor))


def add_refunded(conn: Connection, payment_id: str, amount_minor: int) -> int:
    """Add a succeeded refund; the payment's refunded total after it (the row stays locked until commit)."""
    return conn.execute(update(payments).where(payments.c.id == payment_id)
                        .values(refunded_minor=payments.c.refunded_minor + amount_minor)
                        .returning(payments.c.refunded_minor)).scalar_one()


# --- refunds ---

def refund(conn: Connection, refund_id: str) -> Row | None:
    return _one(conn, select(refunds).where(refunds.c.id == refund_id))


def refund_by_provider_id(conn: Connection, provider_refund_id: str) -> Row | None:
    return _one(conn, select(refunds).where(refunds.c.provider_refund_id == provider_refund_id))


def refunds_of(conn: Connection, payment_id: str) -> list[Row]:
    return [dict(r) for r in conn.execute(select(refunds).where(refunds.c.payment_id == payment_id)
                                          .order_by(refunds.c.created_at, refunds.c.id)).mappings()]


def insert_refund(conn: Connection, row: Row) -> bool:
    return insert_ignore(conn, refunds, row)


def set_refund(conn: Connection, refund_id: str, *, when_status: str | None = None, **values: Any) -> bool:
    stmt = update(refunds).where(refunds.c.id == refund_id)
    if when_status is not None:
        stmt = stmt.where(refunds.c.status == when_status)
    return conn.execute(stmt.values(**values).returning(refunds.c.id)).first() is not None


# --- Stripe events ---

def event_seen(conn: Connection, event_id: str) -> bool:
    return conn.execute(select(stripe_events.c.id).where(stripe_events.c.id == event_id)).first() is not None


def record_event(conn: Connection, event_id: str, type_: str, outcome: str) -> bool:
    """Record the event as handled; False when it already was (then the caller rolls back)."""
    return insert_ignore(conn, stripe_events, {"id": event_id, "type": type_, "received_at": now(),
                                               "outcome": outcome[:500]})


# --- the ledger ---

def append_entries(conn: Connection, entries: list[Entry], *, restaurant_id: str, payment_id: str | None,
                   refund_id: str | None = None) -> str:
    """Append one balanced set; its id. Never updates or deletes."""
    check_balanced(entries)
    set_id, moment = uuid7(), now()
    if entries:
        conn.execute(insert(ledger_entries), [
            {"entry_set_id": set_id, "account": e.account, "kind": e.kind, "amount_minor": e.amount_minor,
             "currency": e.currency, "restaurant_id": restaurant_id, "payment_id": payment_id,
             "refund_id": refund_id, "created_at": moment}
            for e in entries])
    return set_id


def entries_between(conn: Connection, start: datetime, end: datetime,
                    restaurant_id: str | None = None) -> list[Row]:
    stmt = select(ledger_entries).where(ledger_entries.c.created_at >= start, ledger_entries.c.created_at < end)
    if restaurant_id is not None:
        stmt = stmt.where(ledger_entries.c.restaurant_id == restaurant_id)
    return [dict(r) for r in conn.execute(stmt.order_by(ledger_entries.c.id)).mappings()]
