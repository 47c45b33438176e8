"""After the run, the kitchen deals with held tickets as staff would on the Devices screen: a
ticket the printer may not have printed is looked for on the rail (the emulator's paper); if it
is not there it is released, if it is, dropped. Then every order must be on paper exactly once."""

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp

from tests.chaos import verify
from tests.chaos.payers import Payers

SETTLE_WITHIN_S = 60.0
POLL_S = 0.5


def printed_orders(ticket_dir: Path) -> set[int]:
    found = set()
    for path in ticket_dir.glob("ticket-*.txt"):
        text = path.read_text(errors="replace")
        if "REPRINT" not in text and (match := verify.ORDER_NUMBER.search(text)):
            found.add(int(match.group(1)))
    return found


async def settle_held_tickets(http: aiohttp.ClientSession, staff: Payers, ticket_dir: Path,
                              agent_db: Path) -> dict:
    """What was held and why, and what staff did about it."""
    held = await asyncio.to_thread(verify.read, agent_db, (
        "SELECT j.id, o.number, j.last_error FROM device_jobs j JOIN orders o ON o.id = j.order_id "
        "WHERE j.device = 'kitchen' AND j.status = 'held'"))
    on_paper = await asyncio.to_thread(printed_orders, ticket_dir)
    done = {"held": len(held), "released": 0, "dropped": 0,
            "reasons": dict(Counter((reason or "")[:60] for _, _, reason in held))}
    for job_id, number, _ in held:
        action = "drop" if number in on_paper else "release"
        async with http.post(f"{staff.agent_url}/api/v1/staff/jobs/{job_id}/{action}",
                             headers=await staff.staff_headers(http), timeout=staff.timeout()) as resp:
            resp.raise_for_status()
        done["dropped" if action == "drop" else "released"] += 1
    for _ in range(int(SETTLE_WITHIN_S / POLL_S)):  # another process's database: poll it
        if not await asyncio.to_thread(_kitchen_busy, agent_db):
            break
        await asyncio.sleep(POLL_S)
    return done


def _kitchen_busy(agent_db: Path) -> bool:
    return verify.read(agent_db, "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' "
                                 "AND status IN ('pending', 'sending')")[0][0] > 0
