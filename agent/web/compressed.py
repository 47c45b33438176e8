"""Responses made once and served from memory. The menu and a table's page are the same bytes for
every phone until the menu or the table changes, so they are encoded and gzipped once per version,
not once per request; a request then costs a dictionary look-up and a write to the socket.

No brotli: browsers offer `br` only over HTTPS, and the agent serves the restaurant's network over
plain HTTP, so no phone would ever be sent it (measured in bench/README.md: what it would save).
"""

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Compressed:
    body: bytes
    gzipped: bytes
    etag: str


def compress(body: bytes) -> Compressed:
    return Compressed(body, gzip.compress(body, 9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def accepts_gzip(request: web.Request) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in request.headers.get("Accept-Encoding", "").split(","))


def respond(request: web.Request, made: Compressed, content_type: str, headers: dict[str, str]) -> web.Response:
    """made as the response (gzipped when the client takes it), or a 304 when the client has it."""
    headers = {"Vary": "Accept-Encoding", **headers, "ETag": made.etag}
    if request.headers.get("If-None-Match") == made.etag:
        return web.Response(status=304, headers=headers)
    if accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=made.gzipped, content_type=content_type, charset="utf-8", headers=headers)
    return web.Response(body=made.body, content_type=content_type, charset="utf-8", headers=headers)


class Cache:
    """The last `size` things made, by key (a key names a version: it never goes stale, only old)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._made: OrderedDict[object, Compressed] = OrderedDict()

    def get(self, key: object, make: Callable[[], bytes]) -> Compressed:
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = compress(make())
            if len(self._made) > self.size:
                self._made.popitem(last=False)
        else:
            self._made.move_to_end(key)
        return made


HOT = web.AppKey("hot_responses", Cache)
HOT_SIZE = 1024  # menus by language and table pages by table and language: a few MB at most
