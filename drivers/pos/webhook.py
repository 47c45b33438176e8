"""A generic POS over signed JSON HTTP, for in-house POS systems. Specified in docs/pos-webhook.md.

Every request and every incoming webhook carries X-Tableside-Timestamp (Unix seconds) and
X-Tableside-Signature: sha256=<hex HMAC-SHA256 with the shared secret of "{timestamp}.{body}">.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict
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

TIMESTAMP_HEADER = "X-Tableside-Timestamp"
SIGNATURE_HEADER = "X-Tableside-Signature"
UPDATE_KINDS = {"sold_out", "back_in_stock", "check_status", "menu_changed"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Tableside-Signature value for a body sent at `timestamp` (Unix seconds as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookPos(Pos):
    def __init__(self, *, url: str, secret: str, timeout: float = 10.0, tolerance: float = 300.0,
                 **options: Any) -> None:
        super().__init__(**options)
        if not url or not secret:
            raise ValueError("webhook POS needs url and secret (the shared secret agreed with the POS vendor)")
        if len(secret) < 16:
            raise ValueError("webhook POS secret is too short: use at least 16 random characters")
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.tolerance = tolerance  # seconds an incoming webhook's timestamp may differ from our clock
        self._session: aiohttp.ClientSession | None = None
        self._now = time.time  # tests replace it
        self._seen_signatures: OrderedDict[str, float] = OrderedDict()
        self._seen_events: OrderedDict[str, float] = OrderedDict()

    def describe(self) -> str:
        return f"webhook POS ({self.url})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, method: str, path: str, payload: dict[str, Any] | None = None,
                    params: dict[str, str] | None = None, missing_ok: bool = False) -> dict[str, Any] | None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode() if payload is not None else b""
        timestamp = str(int(self._now()))
        headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self.secret, timestamp, body),
                   "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
            headers["Idempotency-Key"] = payload["idempotency_key"]
        url = self.url + path
        try:
            async with self._http().request(method, url, data=body or None, headers=headers, params=params) as resp:
                status, text = resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise PosUnavailable(f"webhook POS unreachable at {url} ({e.__class__.__name__}: {e}): will retry") from e
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = None
        error = (answer.get("error") if isinstance(answer, dict) else None) or text[:200]
        if status == 404 and missing_ok:
            return None
        if status >= 500 or status in (408, 429):
            raise PosUnavailable(f"webhook POS answered {status} to {method} {url} ({error}): will retry")
        if status in (401, 403):
            raise PosError(f"webhook POS refused our signature ({status}: {error}): check that both ends "
                           "have the same secret and a correct clock")
        if status >= 400:
            raise PosError(f"webhook POS refused {method} {url} ({status}): {error}")
        if not isinstance(answer, dict):
            raise PosError(f"webhook POS answered {method} {url} with something that is not a JSON object")
        return answer

    async def _post(self, kind: str, idempotency_key: str, data: dict[str, Any]) -> dict[str, Any]:
        if not idempotency_key:
            raise PosError(f"webhook POS: {kind} needs an idempotency key, so retries cannot double it")
        answer = await self._send("POST", "", {"type": kind, "idempotency_key": idempotency_key, "data": data})
        assert answer is not None
        return answer

    @staticmethod
    def _ref(answer: dict[str, Any], kind: str) -> str:
        ref = answer.get("ref")
        if not isinstance(ref, str) or not ref:
            raise PosError(f"webhook POS answered {kind} without a \"ref\" string")
        return ref

    async def submit_order(self, order: PosOrder, idempotency_key: str) -> str:
        return self._ref(await self._post("order.submit", idempotency_key, asdict(order)), "order.submit")

    async def add_payment(self, check_ref: str, amount_minor: int, tip_minor: int, method: str,
                          idempotency_key: str) -> str:
        data = {"check_ref": check_ref, "amount_minor": amount_minor, "tip_minor": tip_minor, "method": method}
        return self._ref(await self._post("payment.add", idempotency_key, data), "payment.add")

    async def close_check(self, check_ref: str) -> None:
        await self._post("check.close", f"close:{check_ref}", {"check_ref": check_ref})

    async def fetch_menu(self) -> PosMenu:
        answer = await self._send("GET", "/menu")
        assert answer is not None
        try:
            return PosMenu([PosItem(str(i["pos_id"]), i["name"], int(i["price_minor"]), i.get("category", ""),
                                    bool(i.get("available", True)),
                                    [PosModifier(str(m["pos_id"]), m["name"], int(m.get("price_minor", 0)))
                                     for m in i.get("modifiers", [])])
                            for i in answer["items"]])
        except (KeyError, TypeError, ValueError) as e:
            raise PosError(f"webhook POS menu is malformed ({e.__class__.__name__}: {e}); see docs/pos-webhook.md") from e

    @staticmethod
    def _updates(raw: Any) -> list[PosUpdate]:
        try:
            updates = [PosUpdate(u["kind"], str(u["pos_id"]), str(u.get("detail", ""))) for u in raw]
        except (KeyError, TypeError) as e:
            raise PosError(f"webhook POS updates are malformed ({e.__class__.__name__}: {e})") from e
        bad = {u.kind for u in updates} - UPDATE_KINDS
        if bad:
            raise PosError(f"webhook POS sent unknown update kind(s) {sorted(bad)}; known: {sorted(UPDATE_KINDS)}")
        return updates

    async def poll_updates(self, since: str | None) -> tuple[list[PosUpdate], str | None]:
        answer = await self._send("GET", "/updates", params={"since": since} if since else None, missing_ok=True)
        if answer is None:  # the vendor did not implement polling: webhooks only
            return [], since
        return self._updates(answer.get("updates", [])), answer.get("cursor", since)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[PosUpdate]:
        timestamp = header(headers, TIMESTAMP_HEADER) or ""
        given = header(headers, SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(given.encode(), sign(self.secret, timestamp, body).encode()):
            raise PosError("webhook POS: bad or missing X-Tableside-Signature; check the shared secret")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise PosError(f"webhook POS: X-Tableside-Timestamp {timestamp!r} is not Unix seconds") from None
        now = self._now()
        if abs(now - sent_at) > self.tolerance:
            raise PosError(f"webhook POS: timestamp is {int(now - sent_at)}s off our clock (allowed "
                           f"{int(self.tolerance)}s): a replay, or a clock to fix (use NTP)")
        for seen in (self._seen_signatures, self._seen_events):
            while seen and next(iter(seen.values())) < now - 2 * self.tolerance:
                seen.popitem(last=False)
        if given in self._seen_signatures:
            raise PosError("webhook POS: this exact delivery was already received (replay refused)")
        self._seen_signatures[given] = now
        try:
            event = json.loads(body)
            event_id, raw = str(event["id"]), event["updates"]
        except (ValueError, KeyError, TypeError) as e:
            raise PosError(f"webhook POS: body must be {{\"id\": ..., \"updates\": [...]}} ({e})") from e
        updates = self._updates(raw)
        if event_id in self._seen_events:  # a re-sent event (new timestamp, same id): already applied
            return []
        self._seen_events[event_id] = now
        return updates

    async def check(self) -> str:
        answer = await self._send("GET", "/health", missing_ok=True)
        if answer is None:
            return f"{self.describe()}: reachable (no /health endpoint)"
        return f"{self.describe()}: {answer.get('status', 'ok')}"
