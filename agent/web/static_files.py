"""Static files from agent/static, read and gzipped once per change of the file, answered with an
ETag (a 304 when the browser has it) and the caller's Cache-Control."""

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

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


def load_asset(path: Path) -> _Asset | None:
    """Read (and gzip once) a file; runs in a thread. None when it does not exist."""
    try:
        stat = path.stat()
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


def _accepts_gzip(request: web.Request) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in request.headers.get("Accept-Encoding", "").split(","))


async def send_asset(request: web.Request, path: Path, cache_control: str) -> web.Response:
    asset = await asyncio.to_thread(load_asset, path)
    if asset is None:
        raise web.HTTPNotFound()
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if asset.content_type.startswith("text/") or asset.content_type.endswith(("json", "+xml")) else None
    if asset.gzipped is not None and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=asset.gzipped, headers=headers, content_type=asset.content_type, charset=charset)
    return web.Response(body=asset.body, headers=headers, content_type=asset.content_type, charset=charset)
