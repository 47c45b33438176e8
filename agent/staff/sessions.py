"""Staff sessions: a random 256-bit id in a cookie, stored only as its SHA-256, with a CSRF token.

A session ends after IDLE of no use, when its account is disabled or gets a new secret, or on
sign-out. Use is recorded at most once per TOUCH_EVERY so that reads do not each cost a write.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from agent.staff import clock

IDLE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionInfo:
    account_id: str
    name: str
    role: str
    csrf_token: str
    last_seen_at: datetime

    def expired(self, now: datetime) -> bool:
        return now - self.last_seen_at >= IDLE


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: sqlite_utils.Database, account_id: str, now: datetime) -> tuple[str, str]:
    """A new session for the account: (session id for the cookie, CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.execute("DELETE FROM staff_sessions WHERE last_seen_at < ?", [clock.iso(now - IDLE)])  # tidy up
    db.execute("""INSERT INTO staff_sessions (id_hash, account_id, csrf_token, created_at, last_seen_at)
                  VALUES (?, ?, ?, ?, ?)""", [hash_id(session_id), account_id, csrf, clock.iso(now), clock.iso(now)])
    return session_id, csrf


def find_session(db: sqlite_utils.Database, session_id: str) -> SessionInfo | None:
    """The session and its (enabled) account, expired or not; None when there is none."""
    row = db.execute("""
        SELECT a.id, a.name, a.role, s.csrf_token, s.last_seen_at FROM staff_sessions s
        JOIN staff_accounts a ON a.id = s.account_id
        WHERE s.id_hash = ? AND a.disabled_at IS NULL""", [hash_id(session_id)]).fetchone()
    return SessionInfo(row[0], row[1], row[2], row[3], clock.parse(row[4])) if row else None


def touch_session(db: sqlite_utils.Database, session_id: str, now: datetime) -> None:
    db.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id_hash = ?", [clock.iso(now), hash_id(session_id)])


def close_session(db: sqlite_utils.Database, session_id: str) -> None:
    db.execute("DELETE FROM staff_sessions WHERE id_hash = ?", [hash_id(session_id)])
