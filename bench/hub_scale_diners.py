"""Diners paying by card in bench/hub_scale.py, in a process of their own.

Each diner holds a share signed by its agent's pay-link key (as the agent's bill page hands it
out), opens the hub's pay page and presses Pay on the demo card form, which follows the redirect
to the done page: the same provider events a Stripe webhook would cause. A new connection each
request, as phones are many: the kernel spreads them over the workers sharing the HTTP port.

aiohttp clients and not locust: the diners are a steady arrival rate of two-request journeys
whose share ids the bench must check afterwards; one asyncio process offers hundreds a second,
and locust's gevent would add a dependency and its own statistics to merge for no gain here.
"""

import asyncio
import hashlib
import multiprocessing
import random
import time

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract import pay_link
from contract.ids import uuid7

PAYING_AGENTS = 100  # the first agents' keys are registered, and their diners pay
AT_ONCE = 200  # diners mid-journey at most


def pay_key(agent_id: str) -> Ed25519PrivateKey:
    """The agent's pay-link key, derived from its name so the bench needs to pass nothing around."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"bench-pay-key:{agent_id}".encode()).digest())


def _signed_share(agent_id: str, n: int) -> tuple[str, str]:
    now = int(time.time())
    share = pay_link.ShareToPay(
        v=pay_link.VERSION, agent_id=agent_id, share_id=uuid7(), bill_id=f"card-bill-{n}", table_name="Table 2",
        currency="EUR", amount_minor=1800 + n % 500, tip_minor=200, description="Share of table 2",
        issued_at=now, expires_at=now + 900, return_url="http://agent.bench/t/tok")
    return pay_link.sign(share, pay_key(agent_id)), share.share_id


async def _diner(http: aiohttp.ClientSession, hub: str, agent_id: str, n: int, out: dict) -> None:
    token, share_id = _signed_share(agent_id, n)
    begin = time.monotonic()
    try:
        async with http.get(f"{hub}/pay/{token}") as page:
            await page.read()
            if page.status != 200:
                out["failed"].append(f"pay page {page.status}")
                return
        opened = time.monotonic()
        async with http.post(f"{hub}/pay/demo", data={"token": token, "action": "pay"}) as done:
            body = await done.text()
            if done.status != 200 or "Payment received" not in body:
                out["failed"].append(f"pay {done.status}")
                return
    except aiohttp.ClientError as exc:
        out["failed"].append(type(exc).__name__)
        return
    end = time.monotonic()
    out["page"].append(opened - begin)
    out["pay"].append(end - opened)
    out["paid"].append((agent_id, share_id))


async def _diners(hub: str, agents: list[str], rate: float, seconds: float) -> dict:
    out = {"page": [], "pay": [], "paid": [], "failed": []}
    room = asyncio.Semaphore(AT_ONCE)
    tasks: set[asyncio.Task] = set()

    async def one(n: int) -> None:
        async with room:
            await _diner(http, hub, random.choice(agents), n, out)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=AT_ONCE),
                                     timeout=aiohttp.ClientTimeout(total=60)) as http:
        begin, n = time.monotonic(), 0
        while time.monotonic() - begin < seconds:
            n += 1
            task = asyncio.create_task(one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(random.expovariate(rate))  # arrivals at random, `rate` a second on average
        await asyncio.gather(*tasks)
    out["arrived"] = n
    return out


def _process(hub: str, agents: list[str], rate: float, seconds: float, results) -> None:
    results.put(asyncio.run(_diners(hub, agents, rate, seconds)))


def start(hub: str, agents: list[str], rate: float, seconds: float):
    """Start the diners' process; `collect()` on what it returns waits for their results."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_process, args=(hub, agents, rate, seconds, results))
    proc.start()

    def collect() -> dict:
        out = results.get()
        proc.join()
        return out
    return collect
