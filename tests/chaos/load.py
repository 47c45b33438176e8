"""Diners' phones: orders at a steady rate, each retried with its own Idempotency-Key until the
agent answers 201, as a phone does when the agent does not answer (it is down, restarting)."""

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

ITEMS = ["onion-soup", "escargots", "moules-frites", "duck-confit", "fries", "creme-brulee",
         "tarte-tatin", "still-water", "orange-juice", "cremant"]
REQUEST_TIMEOUT_S = 10.0
RETRY_EVERY_S = 0.5
GIVE_UP_AFTER_S = 240.0  # bounded: an order not taken within this is counted lost by the diner


@dataclass
class Placed:
    key: str
    table: str
    lines: list[dict]
    first_try: float
    order_id: str | None = None
    number: int | None = None
    answered_at: float | None = None  # the 201
    tries: int = 0
    unreachable: list[float] = field(default_factory=list)  # no HTTP answer (agent down)
    refusals: list[tuple[float, int, str]] = field(default_factory=list)  # an HTTP answer that was not 201


@dataclass
class Diners:
    agent_url: str
    tokens: dict[str, str]  # table name -> token
    rng: random.Random
    placed: list[Placed] = field(default_factory=list)

    async def run(self, http: aiohttp.ClientSession, count: int, rate: float) -> None:
        """Place `count` orders, one every 1/rate s (a steady rate, not as fast as the agent answers)."""
        start = time.monotonic()
        tasks = []
        names = sorted(self.tokens)
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            table = self.rng.choice(names)
            lines = [{"item_id": item, "qty": self.rng.randint(1, 3)}
                     for item in self.rng.sample(ITEMS, self.rng.randint(1, 3))]
            order = Placed(str(uuid.uuid4()), table, lines, time.monotonic())
            self.placed.append(order)
            tasks.append(asyncio.create_task(self._place(http, order)))
        await asyncio.gather(*tasks)

    async def _place(self, http: aiohttp.ClientSession, order: Placed) -> None:
        url = f"{self.agent_url}/api/v1/tables/{self.tokens[order.table]}/orders"
        while time.monotonic() - order.first_try < GIVE_UP_AFTER_S:
            order.tries += 1
            try:
                async with http.post(url, json={"lines": order.lines}, headers={"Idempotency-Key": order.key},
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as resp:
                    if resp.status == 201:
                        body = await resp.json()
                        order.order_id, order.number = body["order"]["id"], body["order"]["number"]
                        order.answered_at = time.monotonic()
                        return
                    order.refusals.append((time.monotonic(), resp.status, (await resp.text())[:300]))
            except (aiohttp.ClientError, TimeoutError):
                order.unreachable.append(time.monotonic())
            await asyncio.sleep(RETRY_EVERY_S)
