"""Paying some bills while faults happen: diners by card on the hub's demo pay page (with their own
mobile data, so it works while the restaurant's uplink is down), staff by cash on the agent."""

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

ATTEMPT_TIMEOUT_S = 10.0
RETRY_EVERY_S = 1.0
GIVE_UP_AFTER_S = 180.0


@dataclass
class Paid:
    method: str  # card | cash
    table: str
    share_id: str | None = None
    amount_minor: int = 0
    tip_minor: int = 0
    done: bool = False  # the hub (card) or the agent (cash) said it is paid
    skipped: str | None = None  # nothing to pay, and so on: not a failure
    notes: list[str] = field(default_factory=list)


async def _retrying(what, deadline: float, notes: list[str]):
    """Run `what()` until it returns something other than None; connection errors and timeouts
    are the system being down: try again, as a person would."""
    while time.monotonic() < deadline:
        try:
            result = await what()
            if result is not None:
                return result
        except (aiohttp.ClientError, TimeoutError) as exc:
            if len(notes) < 20:
                notes.append(f"{type(exc).__name__}")
        await asyncio.sleep(RETRY_EVERY_S)
    return None


@dataclass
class Payers:
    agent_url: str
    hub_url: str
    tokens: dict[str, str]
    staff_name: str
    staff_secret: str
    rng: random.Random
    paid: list[Paid] = field(default_factory=list)
    _csrf: str | None = None

    def timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_S)

    async def pay_card(self, http: aiohttp.ClientSession, table: str) -> Paid:
        paid = Paid("card", table)
        self.paid.append(paid)
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        tip = self.rng.choice([0, 0, 50, 100, 250])
        key = str(uuid.uuid4())

        async def share():
            async with http.post(f"{self.agent_url}/api/v1/tables/{self.tokens[table]}/bill/shares",
                                 json={"kind": "remaining", "tip_minor": tip}, headers={"Idempotency-Key": key},
                                 timeout=self.timeout()) as resp:
                body = await resp.json()
                if resp.status in (200, 201):
                    return body
                return {"refused": resp.status, "body": body}

        made = await _retrying(share, deadline, paid.notes)
        if made is None or "refused" in made:
            paid.skipped = f"share not made: {made}"
            return paid
        paid.share_id, paid.amount_minor, paid.tip_minor = (made["share"]["id"], made["share"]["amount_minor"],
                                                           made["share"]["tip_minor"])
        pay_url = made["pay_url"]
        token = pay_url.rsplit("/", 1)[-1]

        async def card_page():  # the diner opens the link and sees the card page
            async with http.get(pay_url, timeout=self.timeout(), allow_redirects=False) as resp:
                text = await resp.text()
                if resp.status == 200 and ("Pay " in text or "paid" in text.lower()):
                    return True
                if len(paid.notes) < 20:
                    paid.notes.append(f"pay page {resp.status}")
                return None

        async def pay():
            async with http.post(f"{self.hub_url}/pay/demo", data={"token": token, "action": "pay"},
                                 timeout=self.timeout()) as resp:
                text = await resp.text()
                if resp.status == 200 and ("received" in text.lower() or "paid" in text.lower()):
                    return True
                if len(paid.notes) < 20:
                    paid.notes.append(f"pay {resp.status}")
                return None

        if await _retrying(card_page, deadline, paid.notes) and await _retrying(pay, deadline, paid.notes):
            paid.done = True
        return paid

    async def pay_cash(self, http: aiohttp.ClientSession, table: str) -> Paid:
        """Staff take cash for what is left. No idempotency key on this staff action: a retry after
        the agent died finds the bill already paid (409), which is how a person would know."""
        paid = Paid("cash", table)
        self.paid.append(paid)
        deadline = time.monotonic() + GIVE_UP_AFTER_S

        async def take():
            async with http.get(f"{self.agent_url}/api/v1/tables/{self.tokens[table]}",
                                timeout=self.timeout()) as resp:
                session = (await resp.json()).get("session")
            if not session:
                return {"refused": "no session"}
            async with http.post(f"{self.agent_url}/api/v1/staff/bills/{session['id']}/payments",
                                 json={"method": "cash", "share": {"kind": "remaining"}},
                                 headers=await self.staff_headers(http), timeout=self.timeout()) as resp:
                body = await resp.json()
                if resp.status == 401:
                    self._csrf = None
                    return None
                return body if resp.status == 201 else {"refused": resp.status, "body": body}

        taken = await _retrying(take, deadline, paid.notes)
        if taken is None or "refused" in taken:
            paid.skipped = f"cash not taken: {taken}"
            return paid
        payment = taken["payment"]
        paid.share_id = payment.get("share_id") or payment.get("id")
        paid.amount_minor, paid.tip_minor = payment.get("amount_minor", 0), payment.get("tip_minor", 0)
        paid.done = True
        return paid

    async def staff_headers(self, http: aiohttp.ClientSession) -> dict[str, str]:
        """Signed in (the session cookie lives in http), with the CSRF token a change needs."""
        if self._csrf is None:
            await self._sign_in(http)
        return {"X-CSRF-Token": self._csrf or ""}

    async def _sign_in(self, http: aiohttp.ClientSession) -> None:
        async with http.post(f"{self.agent_url}/api/v1/staff/session",
                             json={"name": self.staff_name, "secret": self.staff_secret},
                             timeout=self.timeout()) as resp:
            resp.raise_for_status()
            self._csrf = (await resp.json())["csrf_token"]
