"""Diner app first-load weight: what a phone downloads for /t/{token} (photos excluded), compressed.

One command: `.venv/bin/python bench/diner_weight.py [--budget-kb 50]`.
It runs an agent (sample menu, no broker), opens a table link in headless Chromium at a phone's
size with a cold cache, and records every response over the DevTools protocol: bytes on the wire
(headers included, as the server sent them: gzip where it compresses). Images are left out (photos
load lazily and are not part of the budget). Prints a table and exits 1 when over budget.
"""

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.app import create_app  # noqa: E402
from agent.config import from_dict  # noqa: E402
from agent.state import STATE  # noqa: E402
from agent.visits import tables
from tableside.serve import Server  # noqa: E402
from tests.browser import PHONE  # noqa: E402
from tests.services import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SETTLE_S = 3.0  # after load: the menu fetch, the live stream and the service worker's own fetches


@contextlib.asynccontextmanager
async def running_agent() -> AsyncIterator[tuple[Server, str]]:
    """An agent on a free loopback port with the sample menu; yields it and Table 1's link."""
    data = Path(tempfile.mkdtemp(prefix="tableside-bench-diner-"))
    config = from_dict({"agent": {"id": "bench", "data_dir": str(data)}, "broker": {"port": 1},
                        "tables": [{"name": "Table 1"}]})
    server = await Server(create_app(config), "127.0.0.1", 0).start()
    try:
        [table] = await server.app[STATE].database.read(tables.all_tables)
        yield server, f"{server.url}/t/{table.token}"
    finally:
        await server.stop()


async def record(url: str) -> list[tuple[str, str, int]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        seen: dict[str, dict] = {}
        cdp.on("Network.responseReceived", lambda e: seen.setdefault(e["requestId"], {}).update(
            url=e["response"]["url"], type=e["type"], status=e["response"]["status"]))
        cdp.on("Network.dataReceived", lambda e: seen.setdefault(e["requestId"], {}).update(
            streamed=seen.get(e["requestId"], {}).get("streamed", 0) + e["encodedDataLength"]))
        cdp.on("Network.loadingFinished", lambda e: seen.setdefault(e["requestId"], {}).update(
            bytes=e["encodedDataLength"]))
        await page.goto(url, wait_until="load")
        await page.wait_for_timeout(SETTLE_S * 1000)
        await browser.close()
    rows = []
    for r in seen.values():
        if "url" not in r or r["type"] == "Image":
            continue
        size = r.get("bytes") or r.get("streamed", 0)
        rows.append((urlsplit(r["url"]).path + (f"?{urlsplit(r['url']).query}" if urlsplit(r["url"]).query else ""),
                     r["type"], size))
    return rows


async def main(budget_kb: float) -> int:
    async with running_agent() as (_, url):
        rows = await record(url)
    total = sum(size for *_, size in rows)
    width = max(len(path) for path, *_ in rows)
    print(f"{'resource':<{width}}  {'type':<12} {'bytes':>7}")
    for path, kind, size in sorted(rows, key=lambda r: -r[2]):
        print(f"{path:<{width}}  {kind:<12} {size:>7}")
    print(f"{'total (wire, headers included)':<{width}}  {'':<12} {total:>7}  = {total / 1024:.1f} KB "
          f"(budget {budget_kb:g} KB)")
    return 0 if total <= budget_kb * 1024 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-kb", type=float, default=50)
    sys.exit(asyncio.run(main(parser.parse_args().budget_kb)))
