"""Waiting in tests for something that happens in the background, without fixed sleeps."""

import asyncio
import inspect


async def eventually(predicate, within: float = 10.0, every: float = 0.05, what: str = "condition"):
    """Poll predicate (sync or async) until it is truthy; its value. Fails after `within` s."""
    try:
        async with asyncio.timeout(within):
            while True:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"{what} not met within {within}s") from None
