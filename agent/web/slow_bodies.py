"""Slow clients and clients that hang up.

A request's body must have arrived whole within http.body_timeout seconds of its headers: a client
that sends headers and then trickles, or nothing, holds a connection and a handler, and three
hundred of them did. Past the deadline the body's stream is failed, the handler's read stops
and the client gets a 408 on a connection that is then closed.

A client hanging up while it sends is ordinary (a phone leaves the Wi-Fi): a line at INFO, never
an error with a traceback.
"""

import asyncio
import logging

from aiohttp import web

from agent.web.errors import json_error

log = logging.getLogger(__name__)


class BodyTooSlow(TimeoutError):
    """The body did not arrive in time. A TimeoutError, so that aiohttp, draining what is left of
    the body after our answer, gives up on it and closes the connection."""


def body_deadline(timeout_s: float):
    @web.middleware
    async def middleware(request: web.Request, handler):
        if not request.body_exists:
            return await handler(request)

        def expire() -> None:
            if not request.content.is_eof():  # is_eof: every byte of the body has been received
                request.content.set_exception(BodyTooSlow())

        timer = asyncio.get_running_loop().call_later(timeout_s, expire)
        try:
            return await handler(request)
        except BodyTooSlow:
            log.info("request body too slow, closing", extra={"path": request.path, "client": request.remote})
            response = json_error(408, "body_timeout", f"the request body did not arrive within {timeout_s:g} s")
            response.force_close()
            return response
        except ConnectionResetError:  # aiohttp's "Connection lost" while reading the body
            log.info("client hung up while sending", extra={"path": request.path, "client": request.remote})
            response = json_error(400, "client_gone", "the client closed the connection")
            response.force_close()
            return response
        finally:
            timer.cancel()

    return middleware
