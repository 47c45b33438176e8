"""Signing staff in: checking the secret, locking an account out, throttling a guessing client.

- An account locks for LOCKOUT after MAX_FAILURES wrong secrets in a row; a right one resets the count.
- A client (IP) that keeps trying names nobody has is refused for THROTTLE_WINDOW after
  MAX_UNKNOWN_NAMES such tries: it cannot lock real accounts it does not know, but it must not
  guess forever either; nor more than MAX_CLIENT_FAILURES wrong tries of any kind.
- Each attempt is counted before its secret is verified (in the transaction that checks the lock),
  so guesses sent all at once meet these limits as if sent one by one.
- Verifying runs on the SecretHasher's own pool, a few at a time per client (agent/staff/hashing.py).
- Wrong name and wrong secret get the same answer and take the same time.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from agent.staff import clock, sessions
from agent.staff.accounts import name_key
from agent.staff.hashing import HasherBusy, SecretHasher
from agent.store.database import Database

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MAX_UNKNOWN_NAMES = 10
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_CLIENT_FAILURES = 30  # wrong tries of any kind from one client in THROTTLE_WINDOW
BUSY_RETRY = timedelta(seconds=2)
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
class _Attempt:
    account_id: str | None
    secret_hash: str | None
    row_id: int  # its row in staff_sign_in_failures, taken back when the secret was right


def _client_throttle(first_try: str | None, now: datetime) -> SignInRefused:
    retry = (clock.parse(first_try) if first_try else now) + THROTTLE_WINDOW
    return SignInRefused(429, "too_many_attempts", f"Too many tries from this device. Wait until {_at(retry)} "
                         "and try again, or ask a manager.", retry)


def _begin(db: sqlite_utils.Database, key: str, client: str, now: datetime) -> _Attempt:
    """Check the throttles and the lock, and count this attempt as a failure, in one write
    transaction, before the secret is verified: however many guesses arrive at once, at most
    MAX_FAILURES of them are ever verified for an account, MAX_UNKNOWN_NAMES for names nobody has."""
    row = db.execute("""SELECT id, secret_hash, locked_until, failed_in_row FROM staff_accounts
                        WHERE name_key = ? AND disabled_at IS NULL""", [key]).fetchone()
    since = clock.iso(now - THROTTLE_WINDOW)
    tries, unknown, first_try, first_unknown = db.execute(
        """SELECT COUNT(*), COUNT(*) FILTER (WHERE account_id IS NULL), MIN(at),
                  MIN(at) FILTER (WHERE account_id IS NULL)
           FROM staff_sign_in_failures WHERE client = ? AND at >= ?""", [client, since]).fetchone()
    if row is None and unknown >= MAX_UNKNOWN_NAMES:
        raise _client_throttle(first_unknown, now)
    if tries >= MAX_CLIENT_FAILURES:
        raise _client_throttle(first_try, now)
    if row is not None:
        locked = clock.parse(row[2]) if row[2] else None
        if locked and locked > now:
            raise _locked(locked, now)
        if row[3] >= MAX_FAILURES:  # that many tries are counted and still being verified: lock now
            until = now + LOCKOUT
            db.execute("UPDATE staff_accounts SET failed_in_row = 0, locked_until = ? WHERE id = ?",
                       [clock.iso(until), row[0]])
            raise _locked(until, now)
        db.execute("UPDATE staff_accounts SET failed_in_row = failed_in_row + 1 WHERE id = ?", [row[0]])
    db.execute("DELETE FROM staff_sign_in_failures WHERE at < ?", [clock.iso(now - timedelta(days=30))])
    cursor = db.execute("INSERT INTO staff_sign_in_failures (client, name_key, account_id, at) VALUES (?, ?, ?, ?)",
                        [client, key, row[0] if row else None, clock.iso(now)])
    return _Attempt(row[0] if row else None, row[1] if row else None, cursor.lastrowid)


def _failed(db: sqlite_utils.Database, attempt: _Attempt, now: datetime) -> datetime | None:
    """The attempt was counted already; the time the account is locked until, when it is the last
    one allowed."""
    if attempt.account_id is None:
        return None
    failed, locked = db.execute("SELECT failed_in_row, locked_until FROM staff_accounts WHERE id = ?",
                                [attempt.account_id]).fetchone()
    if locked and clock.parse(locked) > now:
        return clock.parse(locked)
    if failed < MAX_FAILURES:
        return None
    until = now + LOCKOUT
    db.execute("UPDATE staff_accounts SET failed_in_row = 0, locked_until = ? WHERE id = ?",
               [clock.iso(until), attempt.account_id])
    return until


def _succeed(db: sqlite_utils.Database, attempt: _Attempt, now: datetime) -> SignedIn:
    """Open the session, unless the account got locked or disabled meanwhile (checked in this transaction)."""
    db.execute("DELETE FROM staff_sign_in_failures WHERE rowid = ?", [attempt.row_id])
    row = db.execute("SELECT name, role, locked_until FROM staff_accounts WHERE id = ? AND disabled_at IS NULL",
                     [attempt.account_id]).fetchone()
    if row is None:
        raise SignInRefused(401, "wrong_secret", WRONG)
    if row[2] and clock.parse(row[2]) > now:
        raise _locked(clock.parse(row[2]), now)
    db.execute("UPDATE staff_accounts SET failed_in_row = 0, locked_until = NULL WHERE id = ?", [attempt.account_id])
    session_id, csrf = sessions.open_session(db, attempt.account_id, now)
    return SignedIn(session_id, csrf, attempt.account_id, row[0], row[1])


def _at(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def _locked(until: datetime, now: datetime) -> SignInRefused:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return SignInRefused(429, "locked_out", f"Too many wrong tries: this account is locked until {_at(until)} "
                         f"(in {minutes} minute{'s' if minutes != 1 else ''}). Try again then, or ask a manager "
                         "to set a new PIN.", until)


async def sign_in(database: Database, name: object, secret: object, client: str,
                  now: datetime | None = None, *, hasher: SecretHasher) -> SignedIn:
    """Check name and secret; a new session, or SignInRefused saying why and when to retry."""
    if not isinstance(name, str) or not isinstance(secret, str) or not name.strip() or not secret:
        raise SignInRefused(400, "bad_request", "enter your name and your PIN or password")
    now = now or clock.now()
    key = name_key(name)
    try:
        with hasher.slot(client):
            attempt = await database.write(_begin, key, client, now)
            right = await hasher.verify(attempt.secret_hash, secret[:256])
    except HasherBusy:
        retry = now + BUSY_RETRY
        raise SignInRefused(429, "too_many_attempts", "Too many sign-ins at once. Try again in a moment.",
                            retry) from None
    if not right:
        locked_until = await database.write(_failed, attempt, now)
        if locked_until:
            raise _locked(locked_until, now)
        raise SignInRefused(401, "wrong_secret", WRONG)
    return await database.write(_succeed, attempt, now)
