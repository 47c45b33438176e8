"""Operator authentication: one bearer token from the config, compared in constant time."""

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from hub.appkeys import CONFIG
from hub.web.errors import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_operator(request: web.Request) -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = request.app[CONFIG].operator_token
    # Bytes, because compare_digest refuses non-ASCII str (an attacker could send some); a header
    # that is not UTF-8 reaches us with surrogates standing for its bytes, so they go back as bytes.
    sent = token.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent, expected.encode()):
        raise ApiError(401, "unauthorized", "operator token missing or wrong (Authorization: Bearer <token>)",
                       headers={"WWW-Authenticate": 'Bearer realm="tableside-hub"'})


def operator_only(handler: Handler) -> Handler:
    @wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        require_operator(request)
        return await handler(request)

    return wrapped
