"""The operator's payment API (bearer operator token): restaurants and onboarding, payments,
refunds, and the daily report. Every client mistake is a JSON error naming the field."""

import logging
import re
from datetime import date
from typing import Any

import msgspec
from aiohttp import web

from contract.money import MAX_MINOR, exponent
from contract.openapi import answers
from hub.payments import reports
from hub.payments.answers import (
    CreatedRestaurant,
    DailyReport,
    OnboardingLink,
    PaymentList,
    PaymentWithRefunds,
    Refund,
    Restaurant,
    Restaurants,
)
from hub.payments.context import PAYMENTS, Payments
from hub.payments.fees import FeePlan, FeePlanError
from hub.payments.providers import ProviderError
from hub.payments.records import Row
from hub.payments.refunding import refund_payment
from hub.payments.service import PaymentError
from hub.web.auth import operator_only
from hub.web.errors import ApiError
from hub.web.json_body import read_json_object

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_AGENTS = 100
_COUNTRY = re.compile(r"[A-Z]{2}")
_AGENT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


def _json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=lambda v: msgspec.json.encode(v).decode())


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"{field}: {message}")


async def _body(request: web.Request) -> dict[str, Any]:
    return await read_json_object(request, "an object", MAX_BODY)


def _check_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _invalid(unknown[0], f"unknown field (expected some of {', '.join(sorted(allowed))})")


def _day(text: str | None, field: str = "date") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "bad_request", f"{field}: expected a date YYYY-MM-DD, got {text[:40]!r}") from None


def _money_error(exc: PaymentError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def restaurant_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "country": row["country"], "currency": row["currency"],
        "fee_plan": {"basis_points": row["fee_basis_points"], "fixed_minor": row["fee_fixed_minor"],
                     "min_minor": row["fee_min_minor"], "cap_minor": row["fee_cap_minor"],
                     "fee_on_tips": row["fee_on_tips"]},
        "fee_on_external": row["fee_on_external"], "agent_ids": row.get("agent_ids", []),
        "stripe_account_id": row["stripe_account_id"], "charges_enabled": row["charges_enabled"],
        "created_at": row["created_at"],
    }


def parse_restaurant(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of POST /api/v1/restaurants; ApiError 422 naming the first bad one."""
    _check_fields(body, {"name", "country", "currency", "fee_plan", "fee_on_external", "agent_ids"})
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _invalid("name", "required, a non-empty string of at most 200 characters")
    country = body.get("country")
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise _invalid("country", "required, an ISO 3166 two-letter code in capitals, e.g. DE")
    currency = body.get("currency")
    try:
        exponent(currency)
    except (ValueError, TypeError):
        raise _invalid("currency", "required, an ISO 4217 code Stripe supports, e.g. EUR") from None
    if "fee_plan" not in body:
        raise _invalid("fee_plan", "required: {basis_points, fixed_minor, min_minor, cap_minor, fee_on_tips}")
    try:
        plan = FeePlan.parse(body["fee_plan"])
    except FeePlanError as exc:
        raise _invalid(f"fee_plan.{exc.field}", exc.message) from None
    fee_on_external = body.get("fee_on_external", False)
    if not isinstance(fee_on_external, bool):
        raise _invalid("fee_on_external", "must be true or false")
    agent_ids = body.get("agent_ids", [])
    if not isinstance(agent_ids, list) or len(agent_ids) > MAX_AGENTS or not all(
            isinstance(a, str) and _AGENT_ID.fullmatch(a) for a in agent_ids):
        raise _invalid("agent_ids", f"a list of at most {MAX_AGENTS} agent ids (letters, digits, '_', '.', '-')")
    return {"name": name.strip(), "country": country, "currency": currency, "plan": plan,
            "fee_on_external": fee_on_external, "agent_ids": sorted(set(agent_ids))}


async def onboarding_url(payments: Payments, restaurant: Row) -> str | None:
    """A fresh Account Link, making the connected account first if it has none. None for the demo."""
    provider = payments.provider
    account_id = restaurant["stripe_account_id"]
    if not account_id:
        account_id = await provider.create_account(restaurant)
        if account_id is None:
            return None
        await payments.service.set_stripe_account(restaurant["id"], account_id)
    return await provider.onboarding_link(account_id, refresh_url=payments.url("/onboarding/refresh"),
                                          return_url=payments.url("/onboarding/done"))


async def create_restaurant(payments: Payments, fields: dict[str, Any]) -> tuple[Row, str | None, str | None]:
    """(restaurant, onboarding url, onboarding error): the restaurant is kept even when Stripe fails;
    POST .../onboarding-link tries again."""
    try:
        row = await payments.service.create_restaurant(**fields, charges_enabled=payments.provider.name == "demo")
    except PaymentError as exc:
        raise _money_error(exc) from None
    url = error = None
    try:
        url = await onboarding_url(payments, row)
    except ProviderError as exc:
        error = str(exc)
        log.error("restaurant %s created without onboarding: %s", row["id"], exc)
    log.info("restaurant created id=%s agents=%s provider=%s", row["id"], fields["agent_ids"], payments.provider.name)
    return await payments.service.restaurant(row["id"]), url, error


@operator_only
@answers(201, CreatedRestaurant, "created (kept even when Stripe failed: see onboarding_error)")
async def post_restaurant(request: web.Request) -> web.Response:
    payments = request.app[PAYMENTS]
    fields = parse_restaurant(await _body(request))
    row, url, error = await create_restaurant(payments, fields)
    view = {**restaurant_view(row), "onboarding_url": url}
    if error:
        view["onboarding_error"] = error
    return _json(view, status=201)


async def _restaurant_or_404(payments: Payments, restaurant_id: str) -> Row:
    row = await payments.service.restaurant(restaurant_id)
    if row is None:
        raise ApiError(404, "not_found", f"no restaurant {restaurant_id!r}")
    return row


@operator_only
@answers(200, Restaurants)
async def get_restaurants(request: web.Request) -> web.Response:
    rows = await request.app[PAYMENTS].service.restaurants()
    return _json({"restaurants": [restaurant_view(r) for r in rows]})


@operator_only
@answers(200, Restaurant)
async def get_restaurant(request: web.Request) -> web.Response:
    return _json(restaurant_view(await _restaurant_or_404(request.app[PAYMENTS], request.match_info["id"])))


@operator_only
@answers(201, OnboardingLink, "a fresh onboarding link")
async def post_onboarding_link(request: web.Request) -> web.Response:
    payments = request.app[PAYMENTS]
    row = await _restaurant_or_404(payments, request.match_info["id"])
    if payments.provider.name == "demo":
        raise ApiError(409, "demo_provider", "the demo provider has no onboarding (no TABLESIDE_STRIPE_SECRET_KEY)")
    try:
        url = await onboarding_url(payments, row)
    except ProviderError as exc:
        raise ApiError(502, "provider_error", str(exc)) from None
    return _json({"restaurant_id": row["id"], "onboarding_url": url}, status=201)


@operator_only
@answers(200, PaymentList)
async def get_payments(request: web.Request) -> web.Response:
    day = _day(request.query.get("date"))
    start, end = reports.day_bounds(day) if day else (None, None)
    rows = await request.app[PAYMENTS].service.list_payments(
        restaurant_id=request.query.get("restaurant") or None, start=start, end=end)
    return _json({"payments": rows})


@operator_only
@answers(200, PaymentWithRefunds)
async def get_payment(request: web.Request) -> web.Response:
    row = await request.app[PAYMENTS].service.payment(request.match_info["id"])
    if row is None:
        raise ApiError(404, "not_found", f"no payment {request.match_info['id']!r}")
    return _json(row)


@operator_only
@answers(201, Refund, "the refund as it stands")
async def post_refund(request: web.Request) -> web.Response:
    body = await _body(request)
    _check_fields(body, {"amount_minor", "reason"})
    amount = body.get("amount_minor")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_MINOR:
        raise _invalid("amount_minor", f"required, a whole number of minor units from 1 to {MAX_MINOR}")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 500:
        raise _invalid("reason", "a string of at most 500 characters")
    try:
        refund = await refund_payment(request.app[PAYMENTS], request.match_info["id"], amount, reason=reason,
                                      requested_by="operator")
    except PaymentError as exc:
        raise _money_error(exc) from None
    return _json(refund, status=201)


@operator_only
@answers(200, DailyReport, "the report (?format=csv: as text/csv)")
@answers(200, "text/csv")
async def get_daily_report(request: web.Request) -> web.Response:
    payments = request.app[PAYMENTS]
    text = request.query.get("date")
    if text is None:
        raise ApiError(400, "bad_request", "date: required, YYYY-MM-DD (a UTC day)")
    day = _day(text)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad_request", "format: expected json or csv")
    restaurant_id = request.query.get("restaurant") or None
    if restaurant_id is not None:
        await _restaurant_or_404(payments, restaurant_id)
    report = await daily_report(payments, day, restaurant_id)
    if fmt == "csv":
        return web.Response(text=reports.as_csv(report), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="tableside-{day.isoformat()}.csv"'})
    return _json(report)


async def daily_report(payments: Payments, day: date, restaurant_id: str | None = None) -> dict[str, Any]:
    start, end = reports.day_bounds(day)
    rows = await payments.service.entries_between(start, end, restaurant_id)
    names = {r["id"]: r["name"] for r in await payments.service.restaurants()}
    return reports.daily(day, rows, names)


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/restaurants", post_restaurant)
    app.router.add_get("/api/v1/restaurants", get_restaurants)
    app.router.add_get("/api/v1/restaurants/{id}", get_restaurant)
    app.router.add_post("/api/v1/restaurants/{id}/onboarding-link", post_onboarding_link)
    app.router.add_get("/api/v1/payments", get_payments)
    app.router.add_get("/api/v1/payments/{id}", get_payment)
    app.router.add_post("/api/v1/payments/{id}/refunds", post_refund)
    app.router.add_get("/api/v1/reports/daily", get_daily_report)
