"""Enrolling an agent (pairing, or an operator's restaurant with its id) while another transaction
creates the same agent's row (its presence, on another worker) must not fail: found by
bench/hub_scale.py, where POST /api/v1/restaurants answered 500 (UniqueViolation on agents_pkey)
when the agents' retained presences reached the hub at the same moment."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text

from hub.enrollment.records import add_agent, admission
from hub.store import migrate
from hub.store.tables import agents

pytestmark = pytest.mark.service


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_enrolling_while_the_presence_creates_the_row(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    outcome: dict = {}

    def enroll() -> None:
        try:
            with engine.begin() as conn:
                add_agent(conn, "agent-race", name="Bistro", now=now, public_key="pay-key")
            outcome["done"] = True
        except Exception as exc:  # what the hub's handler would have turned into a 500
            outcome["error"] = exc

    try:
        with engine.connect() as presence:
            seen = presence.begin()
            presence.execute(agents.insert().values(id="agent-race", name="agent-race", created_at=now))
            enrolling = threading.Thread(target=enroll)
            enrolling.start()
            with engine.connect() as watcher:  # the enrollment waits on the presence's uncommitted row
                waiting = 0
                for _ in range(200):
                    waiting = watcher.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'")).scalar_one()
                    if waiting or not enrolling.is_alive():
                        break
                    threading.Event().wait(0.05)
            seen.commit()
        enrolling.join(10)
        assert outcome == {"done": True}
        with engine.connect() as conn:
            row = conn.execute(select(agents.c.enrolled_at, agents.c.public_key).where(agents.c.id == "agent-race")).one()
            assert row.enrolled_at is not None and row.public_key == "pay-key"
            assert admission(conn, "agent-race") == "enrolled"
    finally:
        engine.dispose()
