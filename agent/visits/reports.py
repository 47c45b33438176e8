"""The day's figures for the manager: orders, sales by hour, top items, payments by method,
platform fees and tips. A "day" is the restaurant's local calendar day (the agent box's zone)."""

import csv
import io
from datetime import date, datetime, time, timedelta

import sqlite_utils

from agent.visits.bills import restaurant_currency


def _bounds(day: str | None) -> tuple[date, str, str]:
    if day:
        try:
            the_day = date.fromisoformat(day)
        except ValueError:
            raise ValueError("date must be YYYY-MM-DD") from None
    else:
        the_day = datetime.now().astimezone().date()
    start = datetime.combine(the_day, time()).astimezone()
    end = start + timedelta(days=1)
    return the_day, start.isoformat(), end.isoformat()


def _local_hour(iso: str) -> int:
    return datetime.fromisoformat(iso).astimezone().hour


def day_report(db: sqlite_utils.Database, day: str | None, tax_mode: str) -> dict:
    the_day, start, end = _bounds(day)
    # ISO strings with offsets do not sort as times: compare parsed instants
    start_dt, end_dt = datetime.fromisoformat(start), datetime.fromisoformat(end)

    def in_day(iso: str | None) -> bool:
        return iso is not None and start_dt <= datetime.fromisoformat(iso) < end_dt

    hours = [0] * 24
    orders = 0
    items: dict[str, dict] = {}
    for order_id, created_at in db.execute("SELECT id, created_at FROM orders"):
        if not in_day(created_at):
            continue
        orders += 1
        for name, qty, total in db.execute("""SELECT name, qty, line_total_minor FROM order_lines
                                             WHERE order_id = ? AND voided_at IS NULL""", [order_id]):
            hours[_local_hour(created_at)] += total
            entry = items.setdefault(name, {"name": name, "qty": 0, "sales_minor": 0})
            entry["qty"] += qty
            entry["sales_minor"] += total
    methods: dict[str, dict] = {}
    fees = tips = refunds = 0
    for method, amount, tip, fee, refunded, paid_at in db.execute(
            "SELECT method, amount_minor, tip_minor, fee_minor, refunded_minor, paid_at FROM bill_shares "
            "WHERE status IN ('paid', 'overpaid')"):  # money taken either way; its refund counts below
        if not in_day(paid_at):
            continue
        entry = methods.setdefault(method, {"method": method, "count": 0, "amount_minor": 0, "tip_minor": 0})
        entry["count"] += 1
        entry["amount_minor"] += amount
        entry["tip_minor"] += tip
        fees += fee or 0
        tips += tip
        refunds += refunded
    return {
        "date": the_day.isoformat(),
        "currency": restaurant_currency(db),
        "orders": orders,
        "sales_minor": sum(hours),
        "sales_by_hour": [{"hour": h, "sales_minor": v} for h, v in enumerate(hours)],
        "top_items": sorted(items.values(), key=lambda i: (-i["qty"], -i["sales_minor"], i["name"]))[:10],
        "payments": sorted(methods.values(), key=lambda m: m["method"]),
        # ordered and paid count different things; what tells them apart is what is still open
        "paid_minor": sum(m["amount_minor"] for m in methods.values()),
        "platform_fees_minor": fees,
        "tips_minor": tips,
        "refunds_minor": refunds,
    }



def as_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "count", "amount_minor", "tip_minor", "currency"])
    cur = report["currency"]
    writer.writerow(["summary", "orders", report["orders"], "", "", cur])
    writer.writerow(["summary", "sales", "", report["sales_minor"], "", cur])
    writer.writerow(["summary", "paid", "", report["paid_minor"], "", cur])
    writer.writerow(["summary", "platform_fees", "", report["platform_fees_minor"], "", cur])
    writer.writerow(["summary", "tips", "", "", report["tips_minor"], cur])
    writer.writerow(["summary", "refunds", "", report["refunds_minor"], "", cur])
    for hour in report["sales_by_hour"]:
        writer.writerow(["hour", f"{hour['hour']:02d}:00", "", hour["sales_minor"], "", cur])
    for item in report["top_items"]:
        writer.writerow(["item", item["name"], item["qty"], item["sales_minor"], "", cur])
    for method in report["payments"]:
        writer.writerow(["payment", method["method"], method["count"], method["amount_minor"], method["tip_minor"], cur])
    return out.getvalue()
