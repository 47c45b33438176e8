"""Square POS: orders through the Orders API, payments recorded as CASH/EXTERNAL, menu from the Catalog.

Flow: submit_order -> CreateOrder (ad hoc line items); add_payment -> CreatePayment with
autocomplete=false (delayed capture) on the order; close_check -> PayOrder with those payments,
which completes them and the order in one step (Square's way to pay one order with several
payments). Payment ids are kept in memory per check; after a restart, repeat add_payment with the
same idempotency keys (Square answers with the same payments) before close_check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from drivers.pos.base import (
    Pos,
    PosError,
    PosItem,
    PosMenu,
    PosModifier,
    PosOrder,
    PosUnavailable,
    PosUpdate,
    header,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


class SquarePos(Pos):
    def __init__(self, *, access_token: str, location_id: str, base_url: str = "https://connect.squareup.com",
                 square_version: str = "2025-08-20", webhook_signature_key: str | None = None,
                 webhook_url: str | None = None, timeout: float = 10.0, currency: str = "EUR",
                 **options: Any) -> None:
        super().__init__(**options)
        if not access_token or not location_id:
            raise ValueError("Square POS needs access_token and location_id (Square Developer Dashboard)")
        self.access_token = access_token
        self.location_id = location_id
        self.base_url = base_url.rstrip("/")
        self.square_version = square_version
        self.webhook_signature_key = webhook_signature_key
        self.webhook_url = webhook_url
        self.timeout = timeout
        self.currency = currency  # for payments on checks this instance did not create
        self._session: aiohttp.ClientSession | None = None
        self._check_currency: dict[str, str] = {}
        self._check_payments: dict[str, list[str]] = {}
        self._seen_events: OrderedDict[str, None] = OrderedDict()

    def describe(self) -> str:
        return f"Square POS (location {self.location_id})"

    # -- HTTP ------------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Authorization": f"Bearer {self.access_token}", "Square-Version": self.square_version,
                         "Accept": "application/json"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        url = self.base_url + path
        try:
            async with self._http().request(method, url, json=body, params=params) as resp:
                text = await resp.text()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise PosUnavailable(f"Square unreachable at {self.base_url} ({e.__class__.__name__}: {e}): "
                                 "check the internet connection; will retry") from e
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {}
        errors = answer.get("errors") if isinstance(answer, dict) else None
        detail = "; ".join(f"{e.get('code')}: {e.get('detail', '')}" + (f" ({e['field']})" if e.get("field") else "")
                           for e in errors or [] if isinstance(e, dict)) or text[:200]
        if status >= 500 or status == 429:
            raise PosUnavailable(f"Square answered {status} to {method} {path} ({detail}): will retry")
        if status == 401:
            raise PosError(f"Square refused the access token ({detail}): renew it in the Square dashboard")
        if status >= 400:
            raise PosError(f"Square refused {method} {path} ({status}): {detail}")
        if not isinstance(answer, dict):
            raise PosError(f"Square answered {method} {path} with something that is not a JSON object")
        return answer

    @staticmethod
    def _key(purpose: str, key: str) -> str:
        """A Square idempotency key (at most 45 characters) derived from ours, stable across retries."""
        return "ts-" + hashlib.sha256(f"{purpose}:{key}".encode()).hexdigest()[:40]

    def _money(self, amount: int, currency: str) -> dict[str, Any]:
        return {"amount": int(amount), "currency": currency}

    # -- orders and payments ---------------------------------------------------------------------

    async def submit_order(self, order: PosOrder, idempotency_key: str) -> str:
        if not idempotency_key:
            raise PosError("Square POS: an order needs an idempotency key, so retries cannot double it")
        lines = []
        for line in order.lines:
            item: dict[str, Any] = {"name": line.name[:512], "quantity": str(line.qty),
                                    "base_price_money": self._money(line.unit_price_minor, order.currency)}
            if line.note:
                item["note"] = line.note[:2000]
            if line.modifiers:  # unit_price_minor already includes them: shown at no extra price
                item["modifiers"] = [{"name": m[:255], "base_price_money": self._money(0, order.currency)}
                                     for m in line.modifiers]
            lines.append(item)
        body = {"idempotency_key": self._key("order", idempotency_key), "order": {
            "location_id": self.location_id, "reference_id": order.order_id[:40],
            "source": {"name": "Tableside"}, "ticket_name": f"{order.table_name} #{order.number}"[:30],
            "line_items": lines}}
        answer = await self._call("POST", "/v2/orders", body=body)
        created = answer.get("order") or {}
        ref = created.get("id")
        if not ref:
            raise PosError("Square answered CreateOrder without an order id")
        total = (created.get("total_money") or {}).get("amount")
        if total is not None and total != order.total_minor:
            log.warning("Square order %s totals %s, ours %s: check taxes/discounts set up in Square",
                        ref, total, order.total_minor)
        self._check_currency[ref] = order.currency
        return ref

    async def add_payment(self, check_ref: str, amount_minor: int, tip_minor: int, method: str,
                          idempotency_key: str) -> str:
        if not idempotency_key:
            raise PosError("Square POS: a payment needs an idempotency key, so retries cannot double it")
        currency = self._check_currency.get(check_ref, self.currency)
        body: dict[str, Any] = {
            "idempotency_key": self._key("payment", idempotency_key),
            "amount_money": self._money(amount_minor, currency), "autocomplete": False,
            "order_id": check_ref, "location_id": self.location_id}
        if tip_minor:
            body["tip_money"] = self._money(tip_minor, currency)
        if method == "cash":
            body["source_id"] = "CASH"
            body["cash_details"] = {"buyer_supplied_money": self._money(amount_minor + tip_minor, currency)}
        else:
            body["source_id"] = "EXTERNAL"
            body["external_details"] = {"type": "EXTERNAL", "source": f"Tableside ({method})"[:255]}
        answer = await self._call("POST", "/v2/payments", body=body)
        payment_id = (answer.get("payment") or {}).get("id")
        if not payment_id:
            raise PosError("Square answered CreatePayment without a payment id")
        known = self._check_payments.setdefault(check_ref, [])
        if payment_id not in known:
            known.append(payment_id)
        return payment_id

    async def close_check(self, check_ref: str) -> None:
        order = (await self._call("GET", f"/v2/orders/{check_ref}")).get("order") or {}
        state = order.get("state")
        if state == "COMPLETED":
            return
        if state == "CANCELED":
            raise PosError(f"Square order {check_ref} was canceled on the POS; it cannot be closed as paid")
        payment_ids = self._check_payments.get(check_ref, [])
        if not payment_ids and (order.get("total_money") or {}).get("amount", 0) != 0:
            raise PosError(f"Square POS: no payments known for order {check_ref}; after a restart, repeat "
                           "add_payment with the same idempotency keys, then close the check again")
        body = {"idempotency_key": self._key("close", f"{check_ref}:{','.join(payment_ids)}"),
                "payment_ids": payment_ids}
        if isinstance(order.get("version"), int):
            body["order_version"] = order["version"]
        await self._call("POST", f"/v2/orders/{check_ref}/pay", body=body)

    # -- menu and updates ------------------------------------------------------------------------

    def _at_location(self, obj: dict[str, Any]) -> bool:
        if obj.get("is_deleted"):
            return False
        if self.location_id in (obj.get("absent_at_location_ids") or []):
            return False
        return obj.get("present_at_all_locations", True) or self.location_id in (obj.get("present_at_location_ids") or [])

    def _override(self, variation: dict[str, Any]) -> dict[str, Any]:
        data = variation.get("item_variation_data") or {}
        return next((o for o in data.get("location_overrides") or [] if o.get("location_id") == self.location_id), {})

    def _sold_out(self, variation: dict[str, Any]) -> bool:
        return bool(self._override(variation).get("sold_out"))

    async def fetch_menu(self) -> PosMenu:
        objects: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"types": "ITEM,ITEM_VARIATION,MODIFIER_LIST,CATEGORY"}
            if cursor:
                params["cursor"] = cursor
            answer = await self._call("GET", "/v2/catalog/list", params=params)
            objects += answer.get("objects") or []
            cursor = answer.get("cursor")
            if not cursor:
                break
        by_id = {o["id"]: o for o in objects if isinstance(o, dict) and "id" in o}
        variations: dict[str, list[dict[str, Any]]] = {}
        for o in by_id.values():
            for v in (o.get("item_data") or {}).get("variations") or []:
                by_id.setdefault(v["id"], v)
        for o in by_id.values():
            if o.get("type") == "ITEM_VARIATION":
                variations.setdefault((o.get("item_variation_data") or {}).get("item_id", ""), []).append(o)
        items: list[PosItem] = []
        for item in by_id.values():
            data = item.get("item_data") or {}
            if item.get("type") != "ITEM" or not self._at_location(item) or data.get("is_archived"):
                continue
            category_ids = [c.get("id") for c in data.get("categories") or []] + [data.get("category_id")]
            category = next(((by_id[c].get("category_data") or {}).get("name", "") for c in category_ids
                             if c in by_id), "")
            modifiers = []
            for info in data.get("modifier_list_info") or []:
                mod_list = by_id.get(info.get("modifier_list_id"))
                if info.get("enabled") is False or mod_list is None or not self._at_location(mod_list):
                    continue
                for mod in (mod_list.get("modifier_list_data") or {}).get("modifiers") or []:
                    mdata = mod.get("modifier_data") or {}
                    if self._at_location(mod):
                        modifiers.append(PosModifier(mod["id"], mdata.get("name", ""),
                                                     (mdata.get("price_money") or {}).get("amount", 0)))
            mine = [v for v in variations.get(item["id"], []) if self._at_location(v)]
            mine.sort(key=lambda v: (v.get("item_variation_data") or {}).get("ordinal", 0))
            for v in mine:
                vdata = v.get("item_variation_data") or {}
                override = self._override(v)
                if (override.get("pricing_type") or vdata.get("pricing_type")) == "VARIABLE_PRICING":
                    log.info("Square item %s (%s) has a variable price: not offered", data.get("name"), v["id"])
                    continue
                price = (override.get("price_money") or vdata.get("price_money") or {}).get("amount", 0)
                name = data.get("name", "")
                if len(mine) > 1 and vdata.get("name"):
                    name = f"{name} ({vdata['name']})"
                items.append(PosItem(v["id"], name, price, category, not self._sold_out(v), list(modifiers)))
        return PosMenu(items)

    async def poll_updates(self, since: str | None) -> tuple[list[PosUpdate], str | None]:
        """Stock states of the variations changed after `since` (all of them when None).

        Updates are states, not edges: an item changed for another reason reports back_in_stock
        although it never was out. An ITEM changed too adds one "menu_changed".
        """
        updates: list[PosUpdate] = []
        cursor: str | None = None
        latest = since
        menu_changed = False
        while True:
            body: dict[str, Any] = {"object_types": ["ITEM_VARIATION", "ITEM"], "include_deleted_objects": False}
            if since:
                body["begin_time"] = since
            if cursor:
                body["cursor"] = cursor
            answer = await self._call("POST", "/v2/catalog/search", body=body)
            for obj in answer.get("objects") or []:
                if obj.get("type") == "ITEM":
                    menu_changed = True
                elif obj.get("type") == "ITEM_VARIATION" and self._at_location(obj):
                    sold_out = self._sold_out(obj)
                    name = (obj.get("item_variation_data") or {}).get("name", "")
                    updates.append(PosUpdate("sold_out" if sold_out else "back_in_stock", obj["id"], name))
            latest = answer.get("latest_time") or latest
            cursor = answer.get("cursor")
            if not cursor:
                break
        if menu_changed and since:
            updates.append(PosUpdate("menu_changed", "", "items changed in Square"))
        return updates, latest

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[PosUpdate]:
        if not self.webhook_signature_key or not self.webhook_url:
            raise PosError("Square POS: set webhook_signature_key and webhook_url (exactly as registered in the "
                           "Square dashboard) to accept webhooks")
        given = header(headers, SIGNATURE_HEADER) or ""
        expected = base64.b64encode(hmac.new(self.webhook_signature_key.encode(), self.webhook_url.encode() + body,
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise PosError("Square webhook refused: bad or missing x-square-hmacsha256-signature "
                           "(check the signature key and that webhook_url matches the registered URL exactly)")
        try:
            event = json.loads(body)
            kind = event["type"]
            obj = (event.get("data") or {}).get("object") or {}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PosError(f"Square webhook body unreadable ({e})") from e
        event_id = event.get("event_id")
        if event_id:  # Square retries a delivery with the same event_id: apply it once
            if event_id in self._seen_events:
                return []
            self._seen_events[event_id] = None
            while len(self._seen_events) > 1000:
                self._seen_events.popitem(last=False)
        if kind == "inventory.count.updated":
            updates = []
            for count in obj.get("inventory_counts") or []:
                if count.get("location_id", self.location_id) != self.location_id or count.get("state") != "IN_STOCK":
                    continue
                try:
                    quantity = Decimal(str(count.get("quantity", "0")))
                except InvalidOperation:
                    continue
                updates.append(PosUpdate("sold_out" if quantity <= 0 else "back_in_stock",
                                         count.get("catalog_object_id", ""), f"quantity {quantity}"))
            return updates
        if kind == "catalog.version.updated":
            return [PosUpdate("menu_changed", "", (obj.get("catalog_version") or {}).get("updated_at", ""))]
        if kind in ("order.updated", "order.created"):
            info = obj.get("order_updated") or obj.get("order_created") or {}
            if info.get("location_id", self.location_id) == self.location_id and info.get("order_id"):
                return [PosUpdate("check_status", info["order_id"], info.get("state", ""))]
        return []

    async def check(self) -> str:
        location = (await self._call("GET", f"/v2/locations/{self.location_id}")).get("location") or {}
        status = location.get("status", "?")
        text = (f"Square location {location.get('name', '?')} ({self.location_id}): {status}, "
                f"currency {location.get('currency', '?')}")
        if status != "ACTIVE":
            raise PosError(text + ": the location must be active")
        return text
