"""Static files from agent/static, read and gzipped once per change of the file, answered with an
ETag (a 304 when the browser has it) and the caller's Cache-Control."""

import asyncio
import gzip
import hashlib
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from agent.web.compressed import accepts_gzip

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
          ".webmanifest": "application/manifest+json", ".html": "text/html", ".json": "application/json"}
_COMPRESSIBLE = {".js", ".mjs", ".css", ".svg", ".html", ".json", ".webmanifest"}


@dataclass(frozen=True)
class _Asset:
    mtime_ns: int
    body: bytes
    gzipped: bytes | None
    etag: str
    content_type: str


_assets: dict[Path, _Asset] = {}
_checked_at: dict[Path, float] = {}
RECHECK_AFTER = 1.0  # seconds: a file changed on disk (an upgrade, a developer) is served within this


def fresh_asset(path: Path) -> _Asset | None:
    """The cached file when it was looked at on disk in the last second: no thread, no stat, which
    is what a thousand phones opening the menu at once need."""
    checked = _checked_at.get(path)
    return _assets.get(path) if checked is not None and time.monotonic() - checked < RECHECK_AFTER else None


def load_asset(path: Path) -> _Asset | None:
    """Read (and gzip once) a file; runs in a thread. None when it does not exist."""
    try:
        stat = path.stat()
        _checked_at[path] = time.monotonic()
        cached = _assets.get(path)
        if cached and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        body = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    gzipped = gzip.compress(body, 9, mtime=0) if path.suffix in _COMPRESSIBLE else None
    content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    asset = _Asset(stat.st_mtime_ns, body, gzipped, '"' + hashlib.sha256(body).hexdigest()[:24] + '"', content_type)
    _assets[path] = asset
    return asset


_loading: dict[Path, asyncio.Future] = {}


async def get_asset(path: Path) -> _Asset | None:
    """The file from memory when it was looked at within the last second, else from disk in a thread:
    one look per file however many requests find it due (under load, every table page in flight
    at the second's turn went to a thread to stat the same template: a hundred hops at once)."""
    asset = fresh_asset(path)
    if asset is not None:
        return asset
    loop = asyncio.get_running_loop()
    loading = _loading.get(path)
    if loading is None or loading.get_loop() is not loop:  # tests run several loops in one process
        loading = _loading[path] = asyncio.ensure_future(asyncio.to_thread(load_asset, path))
        loading.add_done_callback(lambda done: _loading.pop(path) if _loading.get(path) is done else None)
    return await asyncio.shield(loading)  # one waiter cancelled does not cancel the others' look


async def send_asset(request: web.Request, path: Path, cache_control: str) -> web.Response:
    asset = await get_asset(path)
    if asset is None:
        raise web.HTTPNotFound()
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if asset.content_type.startswith("text/") or asset.content_type.endswith(("json", "+xml")) else None
    if asset.gzipped is not None and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=asset.gzipped, headers=headers, content_type=asset.content_type, charset=charset)
    return web.Response(body=asset.body, headers=headers, content_type=asset.content_type, charset=charset)
