"""Staff accounts: a name, a role and a hashed PIN or password.

Functions taking `db` run inside a database transaction (Database.write / write_sync). Hashing is
slow, so API handlers hash in a thread first and pass the hash in; `create_account` hashes itself
for set-up tools (the CLI and the demo), where that does not matter.
"""

import unicodedata
from dataclasses import dataclass

import sqlite_utils

from agent.staff import clock
from agent.staff.secrets import hash_secret, secret_kind
from contract.ids import uuid7

ROLES = ("manager", "server", "kitchen")
NAME_LENGTH = 40


class AccountError(ValueError):
    """A refused account change: status, code and a message for the person."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role: str
    secret_kind: str
    disabled: bool
    locked_until: str | None

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "secret_kind": self.secret_kind,
                "disabled": self.disabled, "locked_until": self.locked_until}


def name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AccountError(400, "invalid_name", "a name is required")
    name = unicodedata.normalize("NFKC", name).strip()
    if len(name) > NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AccountError(400, "invalid_name", f"a name is 1-{NAME_LENGTH} printable characters")
    return name


def check_role(role: object) -> str:
    if role not in ROLES:
        raise AccountError(400, "invalid_role", f"role must be one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


_COLUMNS = "id, name, role, secret_kind, disabled_at IS NOT NULL, locked_until"


def _row_to_account(row) -> Account:
    return Account(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


def get_account(db: sqlite_utils.Database, account_id: str) -> Account | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM staff_accounts WHERE id = ?", [account_id]).fetchone()
    return _row_to_account(row) if row else None


def list_accounts(db: sqlite_utils.Database) -> list[Account]:
    return [_row_to_account(r) for r in db.execute(f"SELECT {_COLUMNS} FROM staff_accounts ORDER BY name_key")]


def insert_account(db: sqlite_utils.Database, name: str, role: str, secret_hash: str, kind: str) -> Account:
    name, role = check_name(name), check_role(role)
    if db.execute("SELECT 1 FROM staff_accounts WHERE name_key = ?", [name_key(name)]).fetchone():
        raise AccountError(409, "name_taken", f"there is already an account named {name!r}")
    now = clock.iso(clock.now())
    account_id = uuid7()
    db.execute("""INSERT INTO staff_accounts (id, name, name_key, role, secret_hash, secret_kind, created_at,
                  updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
               [account_id, name, name_key(name), role, secret_hash, kind, now, now])
    return get_account(db, account_id)  # type: ignore[return-value]


def create_account(db: sqlite_utils.Database, name: str, role: str, secret: str) -> Account:
    """Create an account (set-up tools, demo, tests). Raises AccountError or SecretError."""
    check_name(name)
    check_role(role)
    kind = secret_kind(secret)
    return insert_account(db, name, role, hash_secret(secret), kind)


def _active_managers(db: sqlite_utils.Database) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT id FROM staff_accounts WHERE role = 'manager' AND disabled_at IS NULL")}


def update_account(db: sqlite_utils.Database, account_id: str, *, role: str | None = None,
                   secret: tuple[str, str] | None = None, disabled: bool | None = None) -> Account:
    """Change role, set a new (hash, kind) secret, disable or enable. Never leaves no manager."""
    account = get_account(db, account_id)
    if account is None:
        raise AccountError(404, "not_found", "no such staff account")
    if role is not None:
        check_role(role)
    loses_manager = account.role == "manager" and not account.disabled and (
        (role is not None and role != "manager") or disabled is True)
    if loses_manager and _active_managers(db) == {account_id}:
        raise AccountError(409, "last_manager", "this is the only manager: make another manager first")
    now = clock.iso(clock.now())
    if role is not None:
        db.execute("UPDATE staff_accounts SET role = ?, updated_at = ? WHERE id = ?", [role, now, account_id])
    if secret is not None:
        # a new secret also lifts a lock-out and signs out everywhere the old one was used
        db.execute("""UPDATE staff_accounts SET secret_hash = ?, secret_kind = ?, failed_in_row = 0,
                      locked_until = NULL, updated_at = ? WHERE id = ?""", [*secret, now, account_id])
        db.execute("DELETE FROM staff_sessions WHERE account_id = ?", [account_id])
    if disabled is not None:
        db.execute("UPDATE staff_accounts SET disabled_at = ?, updated_at = ? WHERE id = ?",
                   [now if disabled else None, now, account_id])
        if disabled:
            db.execute("DELETE FROM staff_sessions WHERE account_id = ?", [account_id])
    return get_account(db, account_id)  # type: ignore[return-value]
