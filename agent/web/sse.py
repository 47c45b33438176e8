"""Server-Sent Events: one stream per open page, fed by the agent's EventBus.

The first event (`hello`) tells the page to load its state; after that, events are hints on top
of it. A page that reconnects (phone asleep, Wi-Fi dropped) gets a new hello and reloads, so it
never needs the events it missed.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from agent.events import CLOSING, RESYNC, Subscription

KEEPALIVE = 15.0  # seconds: keeps proxies and phones from dropping a quiet stream


Admit = Callable[[str, dict], Awaitable[bool]]  # whether this stream's page may see an event (kind, data)


async def stream(request: web.Request, subscription: Subscription, hello: dict,
                 admit: Admit | None = None) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(_frame("hello", hello, 0) + b"retry: 2000\n\n")
    try:
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE):  # not wait_for: it can swallow a cancel on 3.11
                    event = await subscription.queue.get()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is CLOSING:
                break
            if event is not RESYNC and admit is not None and not await admit(event.kind, event.data):
                continue
            await response.write(_frame(event.kind, event.data, event.id) if event is not RESYNC
                                 else _frame("resync", {}, 0))
    except ConnectionResetError:
        pass  # the page went away (closed, slept, lost Wi-Fi): nothing to do, it reconnects if it can
    return response


def _frame(kind: str, data: dict, event_id: int) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
