"""`tableside hub restaurant create|list`, `tableside hub report`, `tableside hub reconcile`.

They work on the hub's database and Stripe directly, with the hub's own config (the same TOML
file and TABLESIDE_HUB_* / TABLESIDE_STRIPE_* variables as `tableside hub run`), beside a running hub.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from hub.config import ConfigError, HubConfig, load_config
from hub.payments import api, reports
from hub.payments.context import Payments, make_provider
from hub.payments.providers import ProviderError
from hub.payments.reconcile import reconcile
from hub.payments.service import PaymentService
from hub.store import HubStore, migrate
from hub.web.errors import ApiError

T = TypeVar("T")


def add_parsers(hub: Any) -> None:
    """The sub-commands, on `tableside hub`'s sub-parsers."""
    restaurant = hub.add_parser("restaurant", help="restaurants and their fee plans").add_subparsers(
        dest="restaurant_action", required=True)
    create = restaurant.add_parser("create", help="create a restaurant (and its Stripe account) and print its "
                                                  "onboarding link")
    create.add_argument("--name", required=True)
    create.add_argument("--country", required=True, help="ISO 3166 code, e.g. DE")
    create.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    create.add_argument("--basis-points", type=int, required=True, help="the fee's percentage part; 150 = 1.5 %%")
    create.add_argument("--fixed-minor", type=int, default=0, help="the fee's fixed part in minor units")
    create.add_argument("--min-minor", type=int)
    create.add_argument("--cap-minor", type=int)
    create.add_argument("--fee-on-tips", action="store_true")
    create.add_argument("--fee-on-external", action="store_true", help="cash / own-terminal payments owe the fee")
    create.add_argument("--agent", action="append", default=[], dest="agent_ids", help="agent id (repeat)")
    create.add_argument("--config", type=Path)
    listing = restaurant.add_parser("list", help="restaurants, their agents and whether they take charges")
    listing.add_argument("--config", type=Path)
    report = hub.add_parser("report", help="the daily report from the ledger (JSON or CSV)")
    report.add_argument("--date", default=None, help="YYYY-MM-DD, a UTC day (default today)")
    report.add_argument("--restaurant")
    report.add_argument("--format", choices=("json", "csv"), default="json")
    report.add_argument("--config", type=Path)
    again = hub.add_parser("reconcile", help="apply what Stripe knows and webhooks missed; expire stale sessions")
    again.add_argument("--config", type=Path)


async def _with_payments(config: HubConfig, work: Callable[[Payments], Awaitable[T]]) -> T:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate, config.database_url)
    store = HubStore.open(config.database_url, workers=2)
    try:
        return await work(Payments(config=config, store=store, service=PaymentService(store.engine),
                                   provider=make_provider(config)))
    finally:
        await store.close()


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=_plain))


async def _create(payments: Payments, args: argparse.Namespace) -> dict[str, Any]:
    body = {"name": args.name, "country": args.country, "currency": args.currency,
            "fee_plan": {"basis_points": args.basis_points, "fixed_minor": args.fixed_minor,
                         "min_minor": args.min_minor, "cap_minor": args.cap_minor, "fee_on_tips": args.fee_on_tips},
            "fee_on_external": args.fee_on_external, "agent_ids": args.agent_ids}
    row, url, error = await api.create_restaurant(payments, api.parse_restaurant(body))
    view = {**api.restaurant_view(row), "onboarding_url": url}
    if error:
        view["onboarding_error"] = error
    return view


async def _list(payments: Payments, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [api.restaurant_view(r) for r in await payments.service.restaurants()]


async def _report(payments: Payments, args: argparse.Namespace) -> dict[str, Any]:
    try:
        day = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()
    except ValueError:
        raise ValueError(f"--date: expected YYYY-MM-DD, got {args.date!r}") from None
    return await api.daily_report(payments, day, args.restaurant)


def run(args: argparse.Namespace) -> int:
    """Exit 0, or 2 with the reason on stderr (bad config or input, Stripe refusing)."""
    try:
        config = load_config(args.config, os.environ)
        if args.action == "restaurant":
            work = _create if args.restaurant_action == "create" else _list
            _print_json(asyncio.run(_with_payments(config, lambda p: work(p, args))))
        elif args.action == "report":
            report = asyncio.run(_with_payments(config, lambda p: _report(p, args)))
            if args.format == "csv":
                sys.stdout.write(reports.as_csv(report))
            else:
                _print_json(report)
        else:
            _print_json(asyncio.run(_with_payments(config, reconcile)))
    except ConfigError as exc:
        print(f"tableside hub: configuration error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"tableside hub {args.action}: {exc.message}", file=sys.stderr)
        return 2
    except (ProviderError, ValueError) as exc:
        print(f"tableside hub {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0
