"""Signing staff in: checking the secret, locking an account out, throttling a guessing client.

- An account locks for LOCKOUT after MAX_FAILURES wrong secrets in a row; a right one resets the count.
- A client (IP) that keeps trying names nobody has is refused for THROTTLE_WINDOW after
  MAX_UNKNOWN_NAMES such tries: it cannot lock real accounts it does not know, but it must not
  guess forever either.
- Wrong name and wrong secret get the same answer and take the same time.
"""

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from agent.staff import clock, sessions
from agent.staff.accounts import name_key
from agent.staff.secrets import verify_secret
from agent.store.database import Database

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MAX_UNKNOWN_NAMES = 10
THROTTLE_WINDOW = timedelta(minutes=15)
WRONG = "That name and PIN or password do not match. Check both and try again."


class SignInRefused(Exception):
    """status, code and a message for the person; retry_at when trying later will help."""

    def __init__(self, status: int, code: str, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_at = status, code, message, retry_at


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    csrf_token: str
    account_id: str
    name: str
    role: str


@dataclass(frozen=True)
class _Candidate:
    account_id: str | None
    secret_hash: str | None
    locked_until: datetime | None
    unknown_tries: int
    first_unknown_try: datetime | None


def _candidate(db: sqlite_utils.Database, key: str, client: str, now: datetime) -> _Candidate:
    row = db.execute("""SELECT id, secret_hash, locked_until FROM staff_accounts
                        WHERE name_key = ? AND disabled_at IS NULL""", [key]).fetchone()
    since = clock.iso(now - THROTTLE_WINDOW)
    tries, first = db.execute("""SELECT COUNT(*), MIN(at) FROM staff_sign_in_failures
                                 WHERE client = ? AND account_id IS NULL AND at >= ?""", [client, since]).fetchone()
    locked = clock.parse(row[2]) if row and row[2] else None
    return _Candidate(row[0] if row else None, row[1] if row else None, locked, tries,
                      clock.parse(first) if first else None)


def _record_failure(db: sqlite_utils.Database, key: str, client: str, account_id: str | None,
                    now: datetime) -> datetime | None:
    """Count a failure; the time the account is locked until, when this one locks it."""
    db.execute("INSERT INTO staff_sign_in_failures (client, name_key, account_id, at) VALUES (?, ?, ?, ?)",
               [client, key, account_id, clock.iso(now)])
    db.execute("DELETE FROM staff_sign_in_failures WHERE at < ?", [clock.iso(now - timedelta(days=30))])
    if account_id is None:
        return None
    db.execute("UPDATE staff_accounts SET failed_in_row = failed_in_row + 1 WHERE id = ?", [account_id])
    failed = db.execute("SELECT failed_in_row FROM staff_accounts WHERE id = ?", [account_id]).fetchone()[0]
    if failed < MAX_FAILURES:
        return None
    until = now + LOCKOUT
    db.execute("UPDATE staff_accounts SET failed_in_row = 0, locked_until = ? WHERE id = ?",
               [clock.iso(until), account_id])
    return until


def _succeed(db: sqlite_utils.Database, account_id: str, now: datetime) -> SignedIn:
    """Open the session, unless the account got locked or disabled meanwhile (checked in this transaction)."""
    row = db.execute("SELECT name, role, locked_until FROM staff_accounts WHERE id = ? AND disabled_at IS NULL",
                     [account_id]).fetchone()
    if row is None:
        raise SignInRefused(401, "wrong_secret", WRONG)
    if row[2] and clock.parse(row[2]) > now:
        raise _locked(clock.parse(row[2]), now)
    db.execute("UPDATE staff_accounts SET failed_in_row = 0, locked_until = NULL WHERE id = ?", [account_id])
    session_id, csrf = sessions.open_session(db, account_id, now)
    return SignedIn(session_id, csrf, account_id, row[0], row[1])


def _at(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def _locked(until: datetime, now: datetime) -> SignInRefused:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return SignInRefused(429, "locked_out", f"Too many wrong tries: this account is locked until {_at(until)} "
                         f"(in {minutes} minute{'s' if minutes != 1 else ''}). Try again then, or ask a manager "
                         "to set a new PIN.", until)


async def sign_in(database: Database, name: object, secret: object, client: str,
                  now: datetime | None = None) -> SignedIn:
    """Check name and secret; a new session, or SignInRefused saying why and when to retry."""
    if not isinstance(name, str) or not isinstance(secret, str) or not name.strip() or not secret:
        raise SignInRefused(400, "bad_request", "enter your name and your PIN or password")
    now = now or clock.now()
    key = name_key(name)
    found = await database.read(_candidate, key, client, now)
    if found.account_id is None and found.unknown_tries >= MAX_UNKNOWN_NAMES:
        retry = (found.first_unknown_try or now) + THROTTLE_WINDOW
        raise SignInRefused(429, "too_many_attempts", f"Too many tries from this device. Wait until {_at(retry)} "
                            "and try again, or ask a manager.", retry)
    if found.locked_until and found.locked_until > now:
        raise _locked(found.locked_until, now)
    if not await asyncio.to_thread(verify_secret, found.secret_hash, secret[:256]):
        locked_until = await database.write(_record_failure, key, client, found.account_id, now)
        if locked_until:
            raise _locked(locked_until, now)
        raise SignInRefused(401, "wrong_secret", WRONG)
    return await database.write(_succeed, found.account_id, now)
