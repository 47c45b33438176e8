"""After a bench/hub_scale.py run: was everything acked applied exactly once, every card payment
recorded once and sent to its agent, and does the ledger balance?"""

import time

from sqlalchemy import NullPool, create_engine, text


def wait_until(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within:.0f} s")
        time.sleep(0.5)


def agents_online(database_url: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM agents WHERE online")).scalar_one()
    engine.dispose()
    return count


def down_undelivered(database_url: str) -> int:
    """Down-messages (payment.recorded) the agents have not acked yet."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM down_messages WHERE delivered_at IS NULL")).scalar_one()
    engine.dispose()
    return count


def applied_rate(database_url: str, begin: float, end: float) -> float:
    """Messages applied a second by the hub's own clock (the inbox's received_at) in [begin, end)."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM inbox WHERE received_at >= to_timestamp(:b) "
                                  "AND received_at < to_timestamp(:e)"), {"b": begin, "e": end}).scalar_one()
    engine.dispose()
    return count / (end - begin)


def link_transactions(database_url: str) -> tuple[int, int]:
    """(messages applied, transactions that applied them): the distinct xmin of the inbox rows, which
    are never updated. Unlike pg_stat_database's commits, no pool pre-ping or read counts here."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        rows, transactions = conn.execute(text("SELECT count(*), count(DISTINCT xmin::text) FROM inbox")).one()
    engine.dispose()
    return rows, transactions


def verify(database_url: str, load: dict, diners: dict | None) -> tuple[bool, str]:
    """(all good, what was found)."""
    engine = create_engine(database_url, poolclass=NullPool)
    problems = []
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE acked (id text PRIMARY KEY)"))
        if load["acked"]:
            conn.execute(text("INSERT INTO acked VALUES (:id) ON CONFLICT DO NOTHING"),
                         [{"id": i} for i in load["acked"]])
        missing = conn.execute(text("SELECT count(*) FROM acked a LEFT JOIN inbox i ON i.message_id = a.id "
                                    "WHERE i.message_id IS NULL")).scalar_one()
        by_type = dict(conn.execute(text("SELECT type, count(*) FROM inbox GROUP BY type")).all())
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
        lines = conn.execute(text("SELECT count(*) FROM order_lines")).scalar_one()
        cash = conn.execute(text("SELECT count(*) FROM payments WHERE method = 'cash'")).scalar_one()
        cards = dict(conn.execute(text("SELECT share_id, count(*) FROM payments WHERE method = 'card' "
                                       "GROUP BY share_id")).all())
        unbalanced = conn.execute(text("SELECT count(*) FROM (SELECT entry_set_id FROM ledger_entries GROUP BY "
                                       "entry_set_id, currency HAVING sum(amount_minor) <> 0) s")).scalar_one()
        booked = conn.execute(text("SELECT count(*) FROM payments p WHERE (SELECT count(DISTINCT entry_set_id) "
                                   "FROM ledger_entries l WHERE l.payment_id = p.id) <> 1")).scalar_one()
        down_waiting = conn.execute(text("SELECT count(*) FROM down_messages WHERE delivered_at IS NULL")).scalar_one()
    engine.dispose()
    acked = set(load["acked"])
    if len(acked) != len(load["acked"]):
        problems.append(f"{len(load['acked']) - len(acked)} acks for messages acked before")
    if missing:
        problems.append(f"{missing} acked messages not in the inbox")
    acked_orders, acked_cash = len(set(load["orders"]) & acked), len(set(load["cash"]) & acked)
    # a message applied but not acked when the agents left may be in the inbox without its ack
    if not acked_orders <= orders == by_type.get("order.placed", 0):
        problems.append(f"orders {orders}, order.placed applied {by_type.get('order.placed', 0)}, acked {acked_orders}")
    if lines != 3 * orders:
        problems.append(f"{lines} order lines for {orders} orders of 3")
    if not acked_cash <= cash == by_type.get("payment.taken", 0):
        problems.append(f"cash payments {cash}, payment.taken applied {by_type.get('payment.taken', 0)}, "
                        f"acked {acked_cash}")
    paid = {share for _, share in diners["paid"]} if diners else set()
    if diners is not None:
        if not paid <= set(cards) or any(n != 1 for n in cards.values()):
            problems.append(f"card payments: {len(paid - set(cards))} paid shares not recorded, "
                            f"{sum(1 for n in cards.values() if n != 1)} recorded twice")
        if not set(cards) <= set(load["recorded"]):
            problems.append(f"{len(set(cards) - set(load['recorded']))} card payments not received by their agent")
    if unbalanced:
        problems.append(f"{unbalanced} ledger entry sets do not balance")
    if booked:
        problems.append(f"{booked} payments without exactly one ledger entry set")
    if down_waiting:
        problems.append(f"{down_waiting} down-messages not acked by their agent")
    summary = (f"acked {len(load['acked'])} (orders {acked_orders}, cash {acked_cash}), missing from inbox "
               f"{missing}, orders stored {orders}, cash payments {cash}, card payments {len(cards)} "
               f"(diners paid {len(paid)}), ledger sets unbalanced {unbalanced}, resent {load['resent']}, "
               f"unacked at the end {load['unacked']}")
    return not problems, summary + ("" if not problems else " | PROBLEMS: " + "; ".join(problems))
