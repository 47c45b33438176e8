"""Named, transactional migrations of the agent's database.

Each migration runs in its own transaction together with the row that records it, so a crash
leaves it either fully applied or not at all. Append new ones to MIGRATIONS; never edit one that
has shipped.
"""

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from agent.store.database import Database

log = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]


def m0001_menu(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE menu_categories (
            id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL,
            translations TEXT NOT NULL DEFAULT '{}')""")
    db.execute("""
        CREATE TABLE menu_modifier_groups (
            id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL,
            min_choices INTEGER NOT NULL, max_choices INTEGER NOT NULL,
            translations TEXT NOT NULL DEFAULT '{}')""")
    db.execute("""
        CREATE TABLE menu_modifiers (
            id TEXT PRIMARY KEY, group_id TEXT NOT NULL REFERENCES menu_modifier_groups(id),
            position INTEGER NOT NULL, name TEXT NOT NULL, price_minor INTEGER NOT NULL,
            available INTEGER NOT NULL DEFAULT 1, translations TEXT NOT NULL DEFAULT '{}')""")
    db.execute("""
        CREATE TABLE menu_items (
            id TEXT PRIMARY KEY, category_id TEXT NOT NULL REFERENCES menu_categories(id),
            position INTEGER NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
            price_minor INTEGER NOT NULL, available INTEGER NOT NULL DEFAULT 1,
            allergens TEXT NOT NULL DEFAULT '[]', tags TEXT NOT NULL DEFAULT '[]',
            stations TEXT NOT NULL DEFAULT '[]', course TEXT NOT NULL DEFAULT '',
            modifier_groups TEXT NOT NULL DEFAULT '[]', translations TEXT NOT NULL DEFAULT '{}')""")
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def m0002_tables_and_orders(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE tables (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE orders (
            id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE,
            table_id TEXT NOT NULL REFERENCES tables(id),
            idempotency_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL,
            status TEXT NOT NULL, currency TEXT NOT NULL, total_minor INTEGER NOT NULL,
            created_at TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE order_lines (
            order_id TEXT NOT NULL REFERENCES orders(id), position INTEGER NOT NULL,
            item_id TEXT NOT NULL, name TEXT NOT NULL, qty INTEGER NOT NULL,
            unit_price_minor INTEGER NOT NULL, line_total_minor INTEGER NOT NULL,
            modifiers TEXT NOT NULL, note TEXT NOT NULL, stations TEXT NOT NULL, course TEXT NOT NULL,
            PRIMARY KEY (order_id, position))""")
    db.execute("CREATE INDEX orders_table ON orders(table_id, created_at)")


def m0003_device_jobs_and_outbox(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE device_jobs (
            id TEXT PRIMARY KEY, device TEXT NOT NULL, kind TEXT NOT NULL,
            order_id TEXT REFERENCES orders(id), payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, created_at TEXT NOT NULL, done_at TEXT)""")
    db.execute("CREATE INDEX device_jobs_queue ON device_jobs(device, status, created_at)")
    db.execute("""
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, type TEXT NOT NULL,
            payload BLOB NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT)""")
    db.execute("CREATE INDEX outbox_pending ON outbox(seq) WHERE delivered_at IS NULL")


def m0004_pos_ids(db: sqlite_utils.Database) -> None:
    # Our item id stays stable across POS imports; the POS's own id maps onto it.
    # modifier_group_id: the "<item> options" group made for the item's POS modifiers, if any.
    db.execute("""
        CREATE TABLE menu_pos_ids (
            pos_id TEXT PRIMARY KEY, item_id TEXT NOT NULL UNIQUE, modifier_group_id TEXT)""")
    # A POS modifier may hang off several items (Square modifier lists), and each of our
    # modifiers belongs to one group, so a modifier is mapped per (item, POS modifier).
    db.execute("""
        CREATE TABLE menu_pos_modifier_ids (
            item_pos_id TEXT NOT NULL, pos_id TEXT NOT NULL, modifier_id TEXT NOT NULL UNIQUE,
            PRIMARY KEY (item_pos_id, pos_id))""")
    db.execute("CREATE INDEX menu_pos_modifier_ids_pos ON menu_pos_modifier_ids(pos_id)")


def m0005_sessions_and_bills(db: sqlite_utils.Database) -> None:
    # A table session is one party's visit: its orders, requests and bill. Closing it gives the
    # next party a fresh table.
    db.execute("""
        CREATE TABLE table_sessions (
            id TEXT PRIMARY KEY, table_id TEXT NOT NULL REFERENCES tables(id),
            opened_at TEXT NOT NULL, closed_at TEXT, closed_by TEXT)""")
    db.execute("CREATE UNIQUE INDEX table_sessions_open ON table_sessions(table_id) WHERE closed_at IS NULL")
    db.execute("ALTER TABLE orders ADD COLUMN session_id TEXT REFERENCES table_sessions(id)")
    db.execute("ALTER TABLE orders ADD COLUMN updated_at TEXT")
    db.execute("CREATE INDEX orders_session ON orders(session_id)")
    db.execute("ALTER TABLE order_lines ADD COLUMN status TEXT NOT NULL DEFAULT 'received'")
    db.execute("ALTER TABLE order_lines ADD COLUMN voided_at TEXT")
    db.execute("ALTER TABLE order_lines ADD COLUMN voided_by TEXT")
    db.execute("ALTER TABLE order_lines ADD COLUMN tax_rate_bp INTEGER NOT NULL DEFAULT 0")
    db.execute("""
        CREATE TABLE table_requests (
            id TEXT PRIMARY KEY, table_id TEXT NOT NULL REFERENCES tables(id),
            session_id TEXT REFERENCES table_sessions(id), kind TEXT NOT NULL, created_at TEXT NOT NULL,
            acknowledged_at TEXT, acknowledged_by TEXT)""")
    db.execute("CREATE INDEX table_requests_open ON table_requests(created_at) WHERE acknowledged_at IS NULL")
    # A share of a bill: held while the diner pays, then paid (or released / expired).
    db.execute("""
        CREATE TABLE bill_shares (
            id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES table_sessions(id),
            kind TEXT NOT NULL, parts INTEGER, currency TEXT NOT NULL,
            amount_minor INTEGER NOT NULL, tip_minor INTEGER NOT NULL, status TEXT NOT NULL,
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
            method TEXT, payment_id TEXT UNIQUE, provider TEXT, fee_minor INTEGER, paid_at TEXT,
            refunded_minor INTEGER NOT NULL DEFAULT 0, taken_by TEXT, idempotency_key TEXT UNIQUE,
            request_hash TEXT)""")
    db.execute("CREATE INDEX bill_shares_session ON bill_shares(session_id, status)")
    # What part of which order line a share pays for ("chosen items", "part of an item").
    db.execute("""
        CREATE TABLE bill_share_lines (
            share_id TEXT NOT NULL REFERENCES bill_shares(id), order_id TEXT NOT NULL,
            position INTEGER NOT NULL, amount_minor INTEGER NOT NULL,
            PRIMARY KEY (share_id, order_id, position))""")
    db.execute("""
        CREATE TABLE refunds (
            id TEXT PRIMARY KEY, share_id TEXT NOT NULL REFERENCES bill_shares(id),
            amount_minor INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
            requested_by TEXT, created_at TEXT NOT NULL, done_at TEXT)""")
    db.execute("ALTER TABLE menu_items ADD COLUMN tax_rate_bp INTEGER")
    db.execute("ALTER TABLE device_jobs ADD COLUMN result TEXT")  # e.g. the POS's check reference


def m0006_staff(db: sqlite_utils.Database) -> None:
    """Staff accounts and sessions (staff dashboard)."""
    # name_key: the name case-folded, so "ana" and "Ana" are one account. failed_in_row and
    # locked_until carry the lock-out; a disabled account keeps its row for the audit trail.
    db.execute("""
        CREATE TABLE staff_accounts (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
            secret_hash TEXT NOT NULL, secret_kind TEXT NOT NULL, failed_in_row INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT, disabled_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
    # Only a hash of the session id is stored: a copy of the database does not sign anyone in.
    db.execute("""
        CREATE TABLE staff_sessions (
            id_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES staff_accounts(id),
            csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX staff_sessions_account ON staff_sessions(account_id)")
    # Failed sign-ins, for the per-client throttle (names nobody has) and for managers to see.
    db.execute("""
        CREATE TABLE staff_sign_in_failures (
            client TEXT NOT NULL, name_key TEXT NOT NULL, account_id TEXT, at TEXT NOT NULL)""")
    db.execute("CREATE INDEX staff_sign_in_failures_client ON staff_sign_in_failures(client, at)")
    db.execute("ALTER TABLE tables ADD COLUMN area TEXT NOT NULL DEFAULT ''")
    # A removed table that has past orders keeps its row (orders refer to it), renamed and without a
    # working token; one that never had an order is deleted.
    db.execute("ALTER TABLE tables ADD COLUMN retired_at TEXT")
    # The menu editor refuses a stale form (409): each row counts its edits.
    for table in ("menu_categories", "menu_items", "menu_modifier_groups", "menu_modifiers"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN version INTEGER NOT NULL DEFAULT 1")


def m0007_item_photos(db: sqlite_utils.Database) -> None:
    """Menu item photos (diner app): JSON {"path", "width", "height"}, NULL when the item has none."""
    db.execute("ALTER TABLE menu_items ADD COLUMN photo TEXT")


def m0008_link_inbox(db: sqlite_utils.Database) -> None:
    """Messages from the hub, applied once (link, hub -> agent)."""
    # status: applied | unhandled (no handler for its type) | rejected (bad data, or its handler
    # failed: reason says why). payload is kept for the last two, for staff and operators.
    db.execute("""
        CREATE TABLE inbox (
            id TEXT PRIMARY KEY, seq INTEGER NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
            reason TEXT, payload TEXT, received_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX inbox_status ON inbox(status, received_at)")


def m0009_outbox_state_messages(db: sqlite_utils.Database) -> None:
    """State messages (a bill's totals, a device's state) replace their own undelivered older copy."""
    db.execute("ALTER TABLE outbox ADD COLUMN replaces TEXT")
    db.execute("CREATE INDEX outbox_replaces ON outbox(replaces) WHERE delivered_at IS NULL")


def m0010_scoped_idempotency_keys(db: sqlite_utils.Database) -> None:
    """Idempotency keys belong to a table (orders) or a visit (shares): another table sending the
    same key must not get this one's order back. The scope goes in front of the key, so the
    column's own UNIQUE keeps each key once per scope."""
    db.execute("UPDATE orders SET idempotency_key = table_id || ':' || idempotency_key")
    db.execute("""UPDATE bill_shares SET idempotency_key = session_id || ':' || idempotency_key
                  WHERE idempotency_key IS NOT NULL""")


def m0011_ending_visits(db: sqlite_utils.Database) -> None:
    """A paid visit stays open for its party (settled_at set) while the next party starts a new one:
    at most one open visit per table that is not yet settled. visit_key is the party's secret: their
    phones hold it (a cookie) and the receipt link carries it."""
    db.execute("ALTER TABLE table_sessions ADD COLUMN settled_at TEXT")
    db.execute("ALTER TABLE table_sessions ADD COLUMN visit_key TEXT")
    for (session_id,) in db.execute("SELECT id FROM table_sessions").fetchall():
        db.execute("UPDATE table_sessions SET visit_key = ? WHERE id = ?", [secrets.token_urlsafe(16), session_id])
    db.execute("CREATE UNIQUE INDEX table_sessions_visit_key ON table_sessions(visit_key)")
    db.execute("DROP INDEX table_sessions_open")
    db.execute("""CREATE UNIQUE INDEX table_sessions_open ON table_sessions(table_id)
                  WHERE closed_at IS NULL AND settled_at IS NULL""")
    db.execute("CREATE INDEX table_sessions_ending ON table_sessions(settled_at) WHERE closed_at IS NULL")


def m0012_bill_reports_due(db: sqlite_utils.Database) -> None:
    """Bills an order changed whose report to the hub is still to be made (visits/bill_feed.py):
    written in the order's transaction, so a report owed survives a restart; the report itself is
    made once for all the orders of the last second."""
    db.execute("CREATE TABLE bill_reports_due (session_id TEXT PRIMARY KEY, due_since TEXT NOT NULL) WITHOUT ROWID")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_menu", m0001_menu),
    ("0002_tables_and_orders", m0002_tables_and_orders),
    ("0003_device_jobs_and_outbox", m0003_device_jobs_and_outbox),
    ("0004_pos_ids", m0004_pos_ids),
    ("0005_sessions_and_bills", m0005_sessions_and_bills),
    ("0006_staff", m0006_staff),
    ("0007_item_photos", m0007_item_photos),
    ("0008_link_inbox", m0008_link_inbox),
    ("0009_outbox_state_messages", m0009_outbox_state_messages),
    ("0010_scoped_idempotency_keys", m0010_scoped_idempotency_keys),
    ("0011_ending_visits", m0011_ending_visits),
    ("0012_bill_reports_due", m0012_bill_reports_due),
]


def _apply(db: sqlite_utils.Database, name: str, migration: Migration) -> bool:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    if db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
        return False
    migration(db)
    db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
               [name, datetime.now(UTC).isoformat()])
    return True


def migrate(database: Database, migrations: list[tuple[str, Migration]] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; names applied now."""
    applied = []
    for name, migration in migrations:
        if database.write_sync(_apply, name, migration):
            log.info("migration applied", extra={"migration": name})
            applied.append(name)
    return applied


def applied_names(db: sqlite_utils.Database) -> list[str]:
    if not db["_migrations"].exists():
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY name")]
