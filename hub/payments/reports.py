"""The daily report from the ledger: per restaurant and currency, and a platform total.

Figures are sums of ledger entries on restaurant accounts (hub.ledger.summarize), in minor units:
gross (bills without tips), tips, fees (card fees and fees owed on cash / own terminal),
fee_refunds (fees given back with refunds), refunds, and net = what the restaurant keeps.
A day is a UTC calendar day.
"""

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.payments import ledger

FIELDS = ("gross", "tips", "fees", "fee_refunds", "refunds", "net")
PLATFORM = "platform"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def daily(day: date, rows: Iterable[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """The report for `day` from its ledger rows; names maps restaurant ids to names."""
    by_restaurant: dict[str, list[ledger.Entry]] = {}
    for row in rows:
        by_restaurant.setdefault(row["restaurant_id"], []).append(
            ledger.Entry(row["account"], row["amount_minor"], row["currency"], row["kind"]))
    lines, totals = [], {}
    for restaurant_id in sorted(by_restaurant):
        for currency, summary in sorted(ledger.summarize(by_restaurant[restaurant_id], restaurant_id).items()):
            figures = {name: getattr(summary, name) for name in FIELDS}
            lines.append({"restaurant_id": restaurant_id, "restaurant_name": names.get(restaurant_id, ""),
                          "currency": currency, **figures})
            total = totals.setdefault(currency, dict.fromkeys(FIELDS, 0))
            for name in FIELDS:
                total[name] += figures[name]
    platform = [{"currency": currency, **figures, "platform_fee_income": figures["fees"] - figures["fee_refunds"]}
                for currency, figures in sorted(totals.items())]
    return {"date": day.isoformat(), "restaurants": lines, "platform": platform}


def _cell(text: str) -> str:
    """A name a spreadsheet would run as a formula is written as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "restaurant_id", "restaurant_name", "currency", *(f"{f}_minor" for f in FIELDS)])
    for line in report["restaurants"]:
        writer.writerow([report["date"], line["restaurant_id"], _cell(line["restaurant_name"]), line["currency"],
                         *(line[f] for f in FIELDS)])
    for total in report["platform"]:
        writer.writerow([report["date"], PLATFORM, "", total["currency"], *(total[f] for f in FIELDS)])
    return out.getvalue()
