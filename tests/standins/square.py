"""A stand-in for Square's Connect API (https://connect.squareup.com/v2/...), for driver tests.

Every request is checked against Square's OpenAPI spec (/work/shared/specs/square/api.json) with
the strict validator in tests.standins.openapi; a request the spec would refuse gets 400 in
Square's error shape. Enough state for the flow the Square POS driver uses: CreateOrder,
RetrieveOrder, CreatePayment (CASH / EXTERNAL, with or without autocomplete), PayOrder,
ListCatalog, SearchCatalogObjects and RetrieveLocation, all honouring idempotency keys as Square
does. `requests` records every call; `down = True` makes it answer 503.

    standin = SquareStandIn()
    server = await aiohttp_server(standin.app())
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.standins.openapi import OpenApiSpec
from tests.standins.specs import specs_dir

SPEC_PATH = specs_dir() / "square" / "api.json"
SQUARE_VERSION = "2025-08-20"

_spec: OpenApiSpec | None = None


def square_spec() -> OpenApiSpec:
    """The parsed spec, loaded once per test session; a clear failure if it is missing."""
    global _spec
    if _spec is None:
        if not SPEC_PATH.exists():
            raise FileNotFoundError(f"Square OpenAPI spec missing at {SPEC_PATH}: the Square stand-in validates "
                                    "every request against it, so it cannot run without it")
        _spec = OpenApiSpec.load(SPEC_PATH)
    return _spec


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    operation_id: str = ""
    status: int = 0
    problems: list[str] = field(default_factory=list)


class SquareError(Exception):
    def __init__(self, status: int, category: str, code: str, detail: str, field_: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.category, self.code, self.detail, self.field = status, category, code, detail, field_

    def response(self) -> web.Response:
        error = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return web.json_response({"errors": [error]}, status=self.status)


def _invalid(detail: str, code: str = "INVALID_VALUE", field_: str | None = None) -> SquareError:
    return SquareError(400, "INVALID_REQUEST_ERROR", code, detail, field_)


def _code_for(problem: str) -> str:
    if problem.startswith("unknown query parameter"):
        return "UNKNOWN_QUERY_PARAMETER"
    if "unknown property" in problem:
        return "UNKNOWN_BODY_PARAMETER"
    if "is a required property" in problem or "is required" in problem or "needs a request body" in problem:
        return "MISSING_REQUIRED_PARAMETER"
    if "is not of type" in problem:
        return "INCORRECT_TYPE"
    if "is not one of" in problem:
        return "INVALID_ENUM_VALUE"
    if "is too long" in problem:
        return "VALUE_TOO_LONG"
    return "INVALID_VALUE"


def sign_webhook(signature_key: str, notification_url: str, body: bytes) -> str:
    """Square's x-square-hmacsha256-signature: base64 HMAC-SHA256 of the URL followed by the body."""
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class SquareStandIn:
    def __init__(self, *, token: str = "test-token", location_id: str = "LTABLESIDE1", currency: str = "EUR") -> None:
        self.spec = square_spec()
        self.token, self.location_id, self.currency = token, location_id, currency
        self.requests: list[Recorded] = []
        self.down = False
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.catalog: dict[str, dict[str, Any]] = {}  # top-level objects by id, variations nested in items
        self._idempotent: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._last_time = datetime.now(UTC)

    # -- helpers ---------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):020d}"

    def _now(self) -> str:
        """A strictly increasing RFC 3339 timestamp, so begin_time filters never miss a change."""
        now = max(datetime.now(UTC), self._last_time + timedelta(milliseconds=1))
        self._last_time = now
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _money(self, amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": self.currency}

    def calls(self, operation_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.operation_id == operation_id]

    # -- catalogue set-up ------------------------------------------------------------------------

    def add_item(self, name: str, variations: list[tuple[str, int]], *, category: str | None = None,
                 modifiers: list[tuple[str, int]] | None = None) -> dict[str, Any]:
        """An ITEM with variations [(name, price)], optionally a CATEGORY and a MODIFIER_LIST."""
        now = self._now()
        item_id = self._id("ITEM")
        item: dict[str, Any] = {"type": "ITEM", "id": item_id, "updated_at": now, "version": 1, "is_deleted": False,
                                "present_at_all_locations": True, "item_data": {"name": name, "variations": []}}
        if category:
            cat = next((o for o in self.catalog.values() if o["type"] == "CATEGORY"
                        and o["category_data"]["name"] == category), None)
            if cat is None:
                cat = {"type": "CATEGORY", "id": self._id("CAT"), "updated_at": now, "version": 1,
                       "is_deleted": False, "present_at_all_locations": True, "category_data": {"name": category}}
                self.catalog[cat["id"]] = cat
            item["item_data"]["categories"] = [{"id": cat["id"]}]
        if modifiers:
            list_id = self._id("MODLIST")
            self.catalog[list_id] = {
                "type": "MODIFIER_LIST", "id": list_id, "updated_at": now, "version": 1, "is_deleted": False,
                "present_at_all_locations": True,
                "modifier_list_data": {"name": f"{name} options", "selection_type": "MULTIPLE", "modifiers": [
                    {"type": "MODIFIER", "id": self._id("MOD"), "updated_at": now, "version": 1,
                     "is_deleted": False, "present_at_all_locations": True,
                     "modifier_data": {"name": m, "price_money": self._money(p), "modifier_list_id": list_id}}
                    for m, p in modifiers]}}
            item["item_data"]["modifier_list_info"] = [{"modifier_list_id": list_id, "enabled": True}]
        for ordinal, (vname, price) in enumerate(variations):
            item["item_data"]["variations"].append({
                "type": "ITEM_VARIATION", "id": self._id("VAR"), "updated_at": now, "version": 1,
                "is_deleted": False, "present_at_all_locations": True,
                "item_variation_data": {"item_id": item_id, "name": vname, "ordinal": ordinal,
                                        "pricing_type": "FIXED_PRICING", "price_money": self._money(price)}})
        self.catalog[item_id] = item
        return item

    def _variations(self) -> list[dict[str, Any]]:
        return [v for o in self.catalog.values() if o["type"] == "ITEM" for v in o["item_data"]["variations"]]

    def set_sold_out(self, variation_id: str, sold_out: bool = True) -> None:
        """Staff mark a variation sold out at our location, as in Square's item library."""
        [variation] = [v for v in self._variations() if v["id"] == variation_id]
        data = variation["item_variation_data"]
        overrides = [o for o in data.get("location_overrides", []) if o["location_id"] != self.location_id]
        data["location_overrides"] = overrides + [{"location_id": self.location_id, "sold_out": sold_out}]
        variation["updated_at"] = self._now()
        variation["version"] += 1

    def webhook(self, signature_key: str, notification_url: str, event_type: str,
                data_type: str, data_object: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of a Square webhook notification, signed like Square signs them."""
        event = {"merchant_id": "MTABLESIDE", "type": event_type, "event_id": self._id("evt-"),
                 "created_at": self._now(), "data": {"type": data_type, "id": self._id(""), "object": data_object}}
        body = json.dumps(event).encode()
        return {"Content-Type": "application/json",
                "x-square-hmacsha256-signature": sign_webhook(signature_key, notification_url, body)}, body

    # -- the app ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        record = Recorded(request.method, request.path, dict(request.query), dict(request.headers), None)
        self.requests.append(record)
        try:
            if self.down:
                raise SquareError(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Square is down (stand-in switched off)")
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") != self.token:
                raise SquareError(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED",
                                  "This request could not be authorized.")
            if request.headers.get("Square-Version") != SQUARE_VERSION:
                raise _invalid(f"Square-Version header must be {SQUARE_VERSION!r} for this stand-in, "
                               f"got {request.headers.get('Square-Version')!r}", "INVALID_SQUARE_VERSION_FORMAT")
            if raw:
                if request.content_type != "application/json":
                    raise _invalid(f"content type {request.content_type!r} is not JSON", "INVALID_CONTENT_TYPE")
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _invalid("request body is not valid JSON", "EXPECTED_JSON_BODY") from None
            record.body = body
            op = self.spec.find(request.method, request.path)
            if isinstance(op, str):
                raise SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", op)
            record.operation_id = op.operation_id
            query = {k: request.query.getall(k) for k in request.query}
            problems = self.spec.validate_request(request.method, request.path, query=query, body=body)
            if problems:
                record.problems = problems
                errors = [{"category": "INVALID_REQUEST_ERROR", "code": _code_for(p), "detail": p} for p in problems]
                record.status = 400
                return web.json_response({"errors": errors}, status=400)
            handler = getattr(self, f"_op_{op.operation_id}", None)
            if handler is None:
                raise SquareError(501, "API_ERROR", "NOT_IMPLEMENTED",
                                  f"the stand-in does not implement {op.operation_id}")
            result = handler(op.path_params, dict(request.query), body)
            record.status = 200
            return web.json_response(result)
        except SquareError as e:
            record.status = e.status
            return e.response()

    def _idempotent_call(self, op: str, body: dict[str, Any], make: Any) -> dict[str, Any]:
        key = (op, body["idempotency_key"])
        if key in self._idempotent:
            seen_body, response = self._idempotent[key]
            if seen_body != body:
                raise _invalid("idempotency key was already used for a different request",
                               "IDEMPOTENCY_KEY_REUSED", "idempotency_key")
            return copy.deepcopy(response)
        response = make()
        self._idempotent[key] = (copy.deepcopy(body), copy.deepcopy(response))
        return response

    # -- operations ------------------------------------------------------------------------------

    def _check_location(self, location_id: str | None) -> None:
        if location_id not in (None, self.location_id):
            raise SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Location `{location_id}` not found.")

    def _check_money(self, money: dict[str, Any] | None, name: str) -> int:
        if money is None:
            return 0
        if money.get("currency") != self.currency:
            raise _invalid(f"{name} currency {money.get('currency')} differs from the location's {self.currency}",
                           "CURRENCY_MISMATCH", name)
        if money.get("amount", 0) < 0:
            raise _invalid(f"{name} must not be negative", "VALUE_TOO_LOW", name)
        return money.get("amount", 0)

    def _op_RetrieveLocation(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        location_id = self.location_id if params["location_id"] == "main" else params["location_id"]
        self._check_location(location_id)
        location = copy.deepcopy(self.spec.schema("RetrieveLocationResponse")["example"]["location"])
        location.update(id=self.location_id, currency=self.currency, name="Tableside test location",
                        business_name="Tableside Trattoria", status="ACTIVE", country="IT")
        return {"location": location}

    def _op_CreateOrder(self, params: dict[str, str], query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            given = body["order"]
            self._check_location(given["location_id"])
            now = self._now()
            lines, total = [], 0
            for n, line in enumerate(given.get("line_items", [])):
                if "catalog_object_id" not in line and "name" not in line:
                    raise _invalid("an ad hoc line item needs a name", "MISSING_REQUIRED_PARAMETER",
                                   f"order.line_items[{n}].name")
                base = self._check_money(line.get("base_price_money"), f"order.line_items[{n}].base_price_money")
                try:
                    qty = int(line["quantity"])
                except ValueError:
                    raise _invalid("quantity must be a whole number here", "INVALID_VALUE",
                                   f"order.line_items[{n}].quantity") from None
                mods = sum(self._check_money(m.get("base_price_money"), "modifier") for m in line.get("modifiers", []))
                line_total = (base + mods) * qty
                total += line_total
                lines.append({**copy.deepcopy(line), "uid": line.get("uid") or self._id("uid"),
                              "gross_sales_money": self._money(line_total), "total_money": self._money(line_total),
                              "total_tax_money": self._money(0), "total_discount_money": self._money(0)})
            order = {**copy.deepcopy(given), "id": self._id("ORD"), "line_items": lines, "state": "OPEN",
                     "version": 1, "created_at": now, "updated_at": now, "total_money": self._money(total),
                     "total_tax_money": self._money(0), "total_discount_money": self._money(0),
                     "total_tip_money": self._money(0), "net_amount_due_money": self._money(total)}
            self.orders[order["id"]] = order
            return {"order": copy.deepcopy(order)}
        return self._idempotent_call("CreateOrder", body, make)

    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.orders:
            raise SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Order `{order_id}` not found.")
        return self.orders[order_id]

    def _op_RetrieveOrder(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        return {"order": copy.deepcopy(self._order(params["order_id"]))}

    def _op_CreatePayment(self, params: dict[str, str], query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            source = body["source_id"]
            if source == "EXTERNAL" and "external_details" not in body:
                raise _invalid("source_id EXTERNAL needs external_details", "MISSING_REQUIRED_PARAMETER",
                               "external_details")
            if source == "CASH" and "cash_details" not in body:
                raise _invalid("source_id CASH needs cash_details", "MISSING_REQUIRED_PARAMETER", "cash_details")
            if source not in ("EXTERNAL", "CASH"):
                raise SquareError(400, "PAYMENT_METHOD_ERROR", "INVALID_CARD_DATA",
                                  f"the stand-in takes only CASH or EXTERNAL sources, not {source!r}")
            if "amount_money" not in body:
                raise _invalid("amount_money is required", "MISSING_REQUIRED_PARAMETER", "amount_money")
            amount = self._check_money(body["amount_money"], "amount_money")
            tip = self._check_money(body.get("tip_money"), "tip_money")
            self._check_location(body.get("location_id"))
            if source == "CASH":
                supplied = self._check_money(body["cash_details"]["buyer_supplied_money"], "buyer_supplied_money")
                if supplied < amount + tip:
                    raise _invalid("buyer_supplied_money is less than the payment total", "VALUE_TOO_LOW",
                                   "cash_details.buyer_supplied_money")
            order = self._order(body["order_id"]) if "order_id" in body else None
            if order is not None and order["state"] != "OPEN":
                raise _invalid(f"Order `{order['id']}` is {order['state']}: it takes no more payments",
                               "BAD_REQUEST", "order_id")
            now = self._now()
            template = copy.deepcopy(self.spec.schema("CreatePaymentResponse")["example"]["payment"])
            for drop in ("card_details", "customer_id", "app_fee_money", "risk_evaluation", "delayed_until",
                         "delay_duration", "delay_action", "note", "reference_id", "order_id"):
                template.pop(drop, None)
            autocomplete = body.get("autocomplete", True)
            payment = {**template, "id": self._id("PAY"), "created_at": now, "updated_at": now,
                       "amount_money": self._money(amount), "tip_money": self._money(tip),
                       "total_money": self._money(amount + tip), "approved_money": self._money(amount + tip),
                       "status": "COMPLETED" if autocomplete else "APPROVED", "source_type": source,
                       "location_id": self.location_id, "receipt_number": "TS01"}
            for name in ("order_id", "reference_id", "note", "cash_details", "external_details"):
                if name in body:
                    payment[name] = copy.deepcopy(body[name])
            if source == "CASH":
                payment["cash_details"]["change_back_money"] = self._money(
                    body["cash_details"]["buyer_supplied_money"]["amount"] - amount - tip)
            self.payments[payment["id"]] = payment
            if order is not None and autocomplete:
                paid = sum(p["amount_money"]["amount"] for p in self.payments.values()
                           if p.get("order_id") == order["id"] and p["status"] == "COMPLETED")
                if paid >= order["total_money"]["amount"]:
                    self._complete(order, [p["id"] for p in self.payments.values()
                                           if p.get("order_id") == order["id"] and p["status"] == "COMPLETED"])
            return {"payment": copy.deepcopy(payment)}
        return self._idempotent_call("CreatePayment", body, make)

    def _complete(self, order: dict[str, Any], payment_ids: list[str]) -> None:
        now = self._now()
        tips = sum(self.payments[p]["tip_money"]["amount"] for p in payment_ids)
        order.update(state="COMPLETED", closed_at=now, updated_at=now, version=order["version"] + 1,
                     total_tip_money=self._money(tips), net_amount_due_money=self._money(0),
                     tenders=[{"id": p, "payment_id": p, "location_id": self.location_id,
                               "amount_money": self.payments[p]["amount_money"],
                               "tip_money": self.payments[p]["tip_money"],
                               "type": "CASH" if self.payments[p]["source_type"] == "CASH" else "OTHER",
                               "created_at": now} for p in payment_ids])

    def _op_PayOrder(self, params: dict[str, str], query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            order = self._order(params["order_id"])
            if order["state"] != "OPEN":
                raise _invalid(f"Order `{order['id']}` is {order['state']}", "BAD_REQUEST")
            if "order_version" in body and body["order_version"] != order["version"]:
                raise SquareError(400, "INVALID_REQUEST_ERROR", "VERSION_MISMATCH",
                                  f"order version is {order['version']}, not {body['order_version']}")
            ids = body.get("payment_ids", [])
            for pid in ids:
                payment = self.payments.get(pid)
                if payment is None or payment.get("order_id") != order["id"]:
                    raise _invalid(f"Payment `{pid}` does not reference order `{order['id']}`", "BAD_REQUEST",
                                   "payment_ids")
                if payment["status"] != "APPROVED":
                    raise _invalid(f"Payment `{pid}` is {payment['status']}, not APPROVED", "BAD_REQUEST",
                                   "payment_ids")
            paid = sum(self.payments[p]["amount_money"]["amount"] for p in ids)
            if paid != order["total_money"]["amount"]:
                raise _invalid(f"The payments total {paid} but the order total is {order['total_money']['amount']}",
                               "BAD_REQUEST", "payment_ids")
            for p in self.payments.values():
                if p.get("order_id") == order["id"] and p["status"] == "APPROVED":
                    p["status"] = "COMPLETED" if p["id"] in ids else "CANCELED"
            self._complete(order, ids)
            return {"order": copy.deepcopy(order)}
        return self._idempotent_call("PayOrder", body, make)

    def _op_ListCatalog(self, params: dict[str, str], query: dict[str, str], body: Any) -> dict[str, Any]:
        types = {t.strip().upper() for t in query.get("types", "").split(",") if t.strip()}
        objects = [o for o in self.catalog.values() if not types or o["type"] in types]
        if "ITEM_VARIATION" in types:  # asked for on their own, variations are top-level objects too
            objects += self._variations()
        start = int(query.get("cursor") or 0)
        page = objects[start:start + 100]
        answer: dict[str, Any] = {"objects": copy.deepcopy(page)}
        if start + 100 < len(objects):
            answer["cursor"] = str(start + 100)
        return answer

    def _op_SearchCatalogObjects(self, params: dict[str, str], query: dict[str, str],
                                 body: dict[str, Any]) -> dict[str, Any]:
        types = set(body.get("object_types") or [])
        objects = list(self.catalog.values()) + self._variations()
        objects = [o for o in objects if (not types or o["type"] in types)
                   and (body.get("include_deleted_objects") or not o.get("is_deleted"))
                   and ("begin_time" not in body or o["updated_at"] > body["begin_time"])]
        start = int(body.get("cursor") or 0)
        limit = body.get("limit", 100)
        answer: dict[str, Any] = {"objects": copy.deepcopy(objects[start:start + limit]), "latest_time": self._now()}
        if start + limit < len(objects):
            answer["cursor"] = str(start + limit)
        return answer
