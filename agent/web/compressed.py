"""Responses made once and served from memory. The menu and a table's page are the same bytes for
every phone until the menu or the table changes, so they are encoded and gzipped once per version,
not once per request, and so are their headers (the security headers included): a request then
costs a dictionary look-up, a copy of a header set and a write to the socket.

No brotli: browsers offer `br` only over HTTPS, and the agent serves the restaurant's network over
plain HTTP, so no phone would ever be sent it (measured in bench/README.md: what it would save).
"""

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from agent.web.security_headers import HeadersBuiltIn, built_in


@dataclass(frozen=True)
class Compressed:
    body: bytes
    gzipped: bytes
    etag: str


def compress(body: bytes) -> Compressed:
    return Compressed(body, gzip.compress(body, 9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@lru_cache(maxsize=256)  # phones send a handful of distinct Accept-Encoding values; bounded all the same
def _takes_gzip(accept_encoding: str) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in accept_encoding.split(","))


def accepts_gzip(request: web.Request) -> bool:
    return _takes_gzip(request.headers.get("Accept-Encoding", ""))


class Ready:
    """A Compressed thing with the headers of its three answers built: gzipped, plain, 304."""

    def __init__(self, made: Compressed, content_type: str, headers: dict[str, str]) -> None:
        self.made = made
        common = built_in(content_type, {"Vary": "Accept-Encoding", **headers, "ETag": made.etag})
        typed = {**common, "Content-Type": f"{content_type}; charset=utf-8"}
        self.not_modified = CIMultiDictProxy(CIMultiDict(common))
        self.plain = CIMultiDictProxy(CIMultiDict(typed))
        self.gzipped = CIMultiDictProxy(CIMultiDict({**typed, "Content-Encoding": "gzip"}))


class HotResponse(HeadersBuiltIn, web.Response):
    """An answer whose headers, security headers included, were built once with its body."""


def respond(request: web.Request, ready: Ready) -> web.Response:
    """The thing as the response (gzipped when the client takes it), or a 304 when the client has it."""
    if request.headers.get("If-None-Match") == ready.made.etag:
        return HotResponse(status=304, headers=ready.not_modified)
    if accepts_gzip(request):
        return HotResponse(body=ready.made.gzipped, headers=ready.gzipped)
    return HotResponse(body=ready.made.body, headers=ready.plain)


class Cache:
    """The last `size` things made, by key (a key names a version: it never goes stale, only old).
    The key must name everything the body and the headers are made of."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._made: OrderedDict[object, Ready] = OrderedDict()

    def get(self, key: object, make: Callable[[], bytes], content_type: str, headers: dict[str, str]) -> Ready:
        ready = self._made.get(key)
        if ready is None:
            ready = self._made[key] = Ready(compress(make()), content_type, headers)
            if len(self._made) > self.size:
                self._made.popitem(last=False)
        else:
            self._made.move_to_end(key)
        return ready


HOT = web.AppKey("hot_responses", Cache)
HOT_SIZE = 1024  # menus by language and table pages by table and language: a few MB at most
