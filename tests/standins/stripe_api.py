"""The API side of the Stripe stand-in: checking a request, idempotency, and the operations.

`StripeApi.answer` takes one decoded HTTP request and returns (status, body, replayed) or raises
StripeError; tests.standins.stripe wraps it in an aiohttp app and adds the test controls.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Mapping
from typing import Any

from tests.standins.stripe_form import decode_form, shape, stripe_error_for
from tests.standins.stripe_objects import (
    make_account,
    make_charge,
    make_refund,
    make_session,
    money,
    stripe_spec,
)


class StripeError(Exception):
    """An answer in Stripe's error shape: {"error": {"type", "message", "code", "param"}}."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def _missing(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class StripeApi:
    def __init__(self, *, clock: Callable[[], int], api_key: str | None) -> None:
        self.spec = stripe_spec()
        self.clock, self.api_key = clock, api_key
        self.requests: list[Any] = []
        self.down = False
        self.objects: dict[str, dict[str, Any]] = {}  # everything by id, for `expand`
        self.owners: dict[str, str | None] = {}  # id -> connected account it lives on (None: the platform)
        self.accounts: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.intent_data: dict[str, dict[str, Any]] = {}  # session id -> payment_intent_data, used at payment
        self.session_intents: dict[str, str] = {}
        self.link_return_urls: dict[str, str] = {}
        self.refund_flags: dict[str, dict[str, Any]] = {}  # refund id -> refund_application_fee, reverse_transfer
        self._idempotent: dict[tuple[str | None, str], tuple[tuple[Any, ...], int, dict[str, Any]]] = {}

    # -- the pipeline -----------------------------------------------------------------------------

    def answer(self, method: str, path: str, query_string: str, raw: str, headers: Mapping[str, str],
               base: str, record: Any) -> tuple[int, dict[str, Any], bool]:
        self._authenticate(headers.get("Authorization", ""))
        account = headers.get("Stripe-Account")
        if account is not None and account not in self.accounts:
            raise StripeError(403, f"The provided key does not have access to account '{account}' (or that account "
                              "does not exist). Application access may have been revoked.",
                              kind="invalid_request_error", code="account_invalid")
        op = self.spec.find(method, path)
        if isinstance(op, str):
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}). ({op})")
        record.operation_id = op.operation_id
        query = self._shape_query(op, decode_form(query_string))
        body: dict[str, Any] | None = None
        if method == "POST":
            content_type = headers.get("Content-Type", "application/x-www-form-urlencoded")
            if raw and not content_type.startswith("application/x-www-form-urlencoded"):
                raise _invalid(f"Stripe's v1 API takes application/x-www-form-urlencoded bodies, not {content_type}")
            media = op.spec.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
            body = shape(self.spec.spec, decode_form(raw), media.get("schema"))
        record.body, record.query = body, query
        try:
            problems = self.spec.validate_request(method, path, query=query, body=body,
                                                  content_type="application/x-www-form-urlencoded")
        except (TypeError, ValueError) as e:  # e.g. a nested value where the spec wants a scalar
            problems = [f"query: malformed parameter ({e})"]
        if problems:
            record.problems = problems
            message, param, code = stripe_error_for(problems[0])
            raise StripeError(400, message, param=param or None, code=code)
        key = headers.get("Idempotency-Key")
        if method == "POST" and key:
            fingerprint = (method, path, body)
            seen = self._idempotent.get((account, key))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise StripeError(400, "Keys for idempotent requests can only be used with the same parameters "
                                      f"they were first used with. Try using a key other than '{key}' if you meant "
                                      "to execute a different request.", kind="idempotency_error")
                return seen[1], copy.deepcopy(seen[2]), True
        status, result = self._run(op, query, body or {}, account, base)
        if method == "POST" and key:
            self._idempotent[(account, key)] = ((method, path, copy.deepcopy(body)), status, copy.deepcopy(result))
        return status, result, False

    def _authenticate(self, authorization: str) -> None:
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or not key.startswith("sk_test_") or (self.api_key and key != self.api_key):
            shown = (key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]) if key else "none"
            raise StripeError(401, f"Invalid API Key provided: {shown}", kind="authentication_error")

    def _shape_query(self, op: Any, query: dict[str, Any]) -> dict[str, Any]:
        schemas = {p["name"]: p.get("schema", {}) for p in op.spec.get("parameters", []) if p.get("in") == "query"}
        shaped = {}
        for name, value in query.items():
            value = shape(self.spec.spec, value, schemas.get(name))
            # the validator parses query scalars itself; arrays must reach it as lists of strings
            shaped[name] = [str(v) for v in value] if isinstance(value, list) else value
        return shaped

    def _run(self, op: Any, query: dict[str, Any], body: dict[str, Any], account: str | None,
             base: str) -> tuple[int, dict[str, Any]]:
        handler = getattr(self, f"_op_{op.operation_id}", None)
        if handler is None:
            return 501, StripeError(501, f"the stand-in does not implement {op.operation_id}",
                                    kind="api_error").body()
        try:
            result = handler(op.path_params, query, body, account, base)
        except StripeError as e:  # errors during execution are kept for the idempotency key, as Stripe does
            return e.status, e.body()
        expand = query.get("expand") or body.get("expand") or []
        result = copy.deepcopy(result)
        for path in expand:
            self._expand(result, path.split("."), account)
        return 200, result

    def _expand(self, node: Any, parts: list[str], account: str | None) -> None:
        if not parts or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            for item in node["data"]:
                self._expand(item, rest, account)
            return
        value = node.get(head)
        if isinstance(value, str) and value in self.objects and self.owners.get(value) == account:
            node[head] = value = copy.deepcopy(self.objects[value])
        self._expand(value, rest, account)

    # -- storage ----------------------------------------------------------------------------------

    def _store(self, store: dict[str, dict[str, Any]], obj: dict[str, Any], owner: str | None) -> dict[str, Any]:
        store[obj["id"]] = self.objects[obj["id"]] = obj
        self.owners[obj["id"]] = owner
        return obj

    def _find(self, store: dict[str, dict[str, Any]], object_id: str, kind: str, param: str,
              account: str | None) -> dict[str, Any]:
        if object_id not in store or self.owners[object_id] != account:
            raise _missing(kind, object_id, param)
        return store[object_id]

    def _list(self, store: dict[str, dict[str, Any]], query: dict[str, Any], account: str | None, url: str,
              keep: Callable[[dict[str, Any]], bool] = lambda o: True) -> dict[str, Any]:
        created = query.get("created")
        if isinstance(created, int):
            created = {"gte": created, "lte": created}
        bounds = created or {}
        tests = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        items = [o for o in reversed(store.values())  # newest first; insertion order breaks same-second ties
                 if self.owners[o["id"]] == account and keep(o)
                 and all(tests[op](o["created"], v) for op, v in bounds.items())]
        ids = [o["id"] for o in items]
        if after := query.get("starting_after"):
            if after not in ids:
                raise _missing("object", after, "starting_after")
            items = items[ids.index(after) + 1:]
        elif before := query.get("ending_before"):
            if before not in ids:
                raise _missing("object", before, "ending_before")
            items = items[:ids.index(before)]
        limit = query.get("limit", 10)
        if not 1 <= limit <= 100:
            raise _invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit")
        page = items[-limit:] if query.get("ending_before") else items[:limit]
        return {"object": "list", "data": copy.deepcopy(page), "has_more": len(items) > limit, "url": url}

    # -- accounts ---------------------------------------------------------------------------------

    def _op_PostAccounts(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                         account: str | None, base: str) -> dict[str, Any]:
        return self._store(self.accounts, make_account(body, self.clock()), None)

    def _op_GetAccountsAccount(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                               account: str | None, base: str) -> dict[str, Any]:
        if params["account"] not in self.accounts:
            raise _missing("account", params["account"], "account")
        return self.accounts[params["account"]]

    def _op_PostAccountLinks(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                             account: str | None, base: str) -> dict[str, Any]:
        if body["account"] not in self.accounts:
            raise _missing("account", body["account"], "account")
        if "return_url" in body:
            self.link_return_urls[body["account"]] = body["return_url"]
        now = self.clock()
        return {"object": "account_link", "created": now, "expires_at": now + 300,
                "url": f"{base}/connect/onboard/{body['account']}"}

    # -- checkout ---------------------------------------------------------------------------------

    def _line_total(self, items: list[dict[str, Any]]) -> tuple[int, str]:
        total, currencies = 0, set()
        for n, item in enumerate(items):
            where = f"line_items[{n}]"
            if "price" in item:
                raise _missing("price", item["price"], f"{where}[price]")
            if "price_data" not in item:
                raise _invalid(f"You must specify either `price` or `price_data` in {where}.", where)
            data = item["price_data"]
            if "unit_amount" not in data:
                raise _invalid("The stand-in needs an integer unit_amount", f"{where}[price_data][unit_amount]")
            if "quantity" not in item:
                raise _invalid(f"Quantity is required. Add `quantity` to `{where}`", f"{where}[quantity]")
            if data["unit_amount"] < 0 or item["quantity"] < 1:
                raise _invalid("This value must be greater than or equal to 0 (quantity: 1).", where)
            total += data["unit_amount"] * item["quantity"]
            currencies.add(data["currency"].lower())
        if len(currencies) != 1:
            raise _invalid("All line items must share one currency.", "line_items")
        return total, currencies.pop()

    def _check_connect(self, data: dict[str, Any], amount: int, account: str | None) -> None:
        fee = data.get("application_fee_amount")
        destination = (data.get("transfer_data") or {}).get("destination")
        prefix = "payment_intent_data"
        if fee is not None and account is None and destination is None:
            raise _invalid("Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
                           "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
                           "`transfer_data[destination]`).", f"{prefix}[application_fee_amount]")
        if fee is not None and not 0 <= fee <= amount:
            raise _invalid(f"The application fee ({fee}) must be between 0 and the amount ({amount}).",
                           f"{prefix}[application_fee_amount]")
        if destination is not None:
            if destination not in self.accounts:
                raise _missing("destination", destination, f"{prefix}[transfer_data][destination]")
            if self.accounts[destination]["capabilities"].get("transfers") != "active":
                raise _invalid("Your destination account needs to have at least one of the following capabilities "
                               "enabled: transfers, crypto_transfers, legacy_payments",
                               f"{prefix}[transfer_data][destination]")
        if account is not None and not self.accounts[account]["charges_enabled"]:
            raise _invalid(f"Your account {account} cannot currently make charges: charges_enabled is false.",
                           code="account_invalid")

    def _op_PostCheckoutSessions(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                                 account: str | None, base: str) -> dict[str, Any]:
        if body.get("mode", "payment") != "payment":
            raise _invalid("The Stripe stand-in supports mode=payment only.", "mode")
        if not body.get("line_items"):
            raise _invalid("`line_items` is required in `payment` mode.", "line_items")
        amount, currency = self._line_total(body["line_items"])
        if "currency" in body and body["currency"].lower() != currency:
            raise _invalid("currency differs from the line items' currency", "currency")
        data = body.get("payment_intent_data", {})
        self._check_connect(data, amount, account)
        session = make_session(body, amount, currency, self.clock(), f"{base}/checkout/{{id}}")
        self.intent_data[session["id"]] = copy.deepcopy(data)
        return self._store(self.sessions, session, account)

    def _op_GetCheckoutSessions(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                                account: str | None, base: str) -> dict[str, Any]:
        def keep(s: dict[str, Any]) -> bool:
            return all(query.get(name) in (None, s.get(name)) for name in ("status", "payment_intent", "customer"))
        return self._list(self.sessions, query, account, "/v1/checkout/sessions", keep)

    def _op_GetCheckoutSessionsSession(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                                       account: str | None, base: str) -> dict[str, Any]:
        return self._find(self.sessions, params["session"], "checkout.session", "session", account)

    def _op_PostCheckoutSessionsSessionExpire(self, params: dict[str, str], query: dict[str, Any],
                                              body: dict[str, Any], account: str | None, base: str) -> dict[str, Any]:
        session = self._find(self.sessions, params["session"], "checkout.session", "session", account)
        if session["status"] != "open":
            raise _invalid(f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout "
                           f"Session has a status of \"{session['status']}\".", code="checkout_session_not_open")
        session["status"] = "expired"
        self._emit("checkout.session.expired", session, account)
        return session

    # -- payments ---------------------------------------------------------------------------------

    def _op_GetPaymentIntentsIntent(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                                    account: str | None, base: str) -> dict[str, Any]:
        return self._find(self.intents, params["intent"], "payment_intent", "intent", account)

    def _op_GetChargesCharge(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                             account: str | None, base: str) -> dict[str, Any]:
        return self._find(self.charges, params["charge"], "charge", "charge", account)

    def _charge_for(self, intent: dict[str, Any], now: int) -> dict[str, Any]:
        return self._store(self.charges, make_charge(intent, now), self.owners[intent["id"]])

    def _op_PostRefunds(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                        account: str | None, base: str) -> dict[str, Any]:
        if "charge" in body:
            charge = self._find(self.charges, body["charge"], "charge", "charge", account)
            if body.get("payment_intent") not in (None, charge["payment_intent"]):
                raise _invalid("The charge does not belong to that payment_intent.", "payment_intent")
        elif "payment_intent" in body:
            intent = self._find(self.intents, body["payment_intent"], "payment_intent", "payment_intent", account)
            if not intent["latest_charge"]:
                raise _invalid(f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                               "payment_intent", "charge_not_refundable")
            charge = self.charges[intent["latest_charge"]]
        else:
            raise _invalid("One of the following params should be provided for this request: payment_intent or "
                           "charge.", "charge", "parameter_missing")
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            raise _invalid(f"Charge {charge['id']} has already been refunded.", "charge", "charge_already_refunded")
        amount = body.get("amount", left)
        if amount < 1:
            raise _invalid("Invalid positive integer", "amount", "parameter_invalid_integer")
        if amount > left:
            raise _invalid(f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded amount "
                           f"on charge ({money(left, charge['currency'])})", "amount", "amount_too_large")
        if "currency" in body and body["currency"].lower() != charge["currency"]:
            raise _invalid("The refund currency must match the charge's currency.", "currency")
        refund = self._store(self.refunds, make_refund(charge, amount, body, self.clock()), account)
        fee_back = (charge["application_fee_amount"] or 0) * amount // charge["amount"]
        self.refund_flags[refund["id"]] = {
            "refund_application_fee": bool(body.get("refund_application_fee")),
            "reverse_transfer": bool(body.get("reverse_transfer")),
            "application_fee_refunded": fee_back if body.get("refund_application_fee") else 0}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        self._emit("charge.refunded", charge, account)
        return refund

    def _op_GetRefunds(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                       account: str | None, base: str) -> dict[str, Any]:
        def keep(r: dict[str, Any]) -> bool:
            return all(query.get(name) in (None, r.get(name)) for name in ("charge", "payment_intent"))
        return self._list(self.refunds, query, account, "/v1/refunds", keep)

    # -- events -----------------------------------------------------------------------------------

    def _op_GetEvents(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                      account: str | None, base: str) -> dict[str, Any]:
        patterns = ([query["type"]] if "type" in query else []) + list(query.get("types") or [])

        def keep(e: dict[str, Any]) -> bool:
            return not patterns or any(fnmatch.fnmatchcase(e["type"], p) for p in patterns)
        return self._list(self.events, query, account, "/v1/events", keep)

    def _op_GetEventsId(self, params: dict[str, str], query: dict[str, Any], body: dict[str, Any],
                        account: str | None, base: str) -> dict[str, Any]:
        return self._find(self.events, params["id"], "event", "id", account)

    def _emit(self, kind: str, obj: dict[str, Any], owner: str | None) -> None:
        raise NotImplementedError  # the stand-in (tests.standins.stripe) records and delivers events
