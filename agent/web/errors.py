"""Every failure a client sees is `{"error": {"code", "message"}}` with a 4xx (or 5xx) status,
never a traceback. Pages (not /api) get a short HTML page instead of JSON."""

import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)


def json_error(status: int, code: str, message: str, **extra) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def domain_error(exc) -> web.Response:
    """A refusal from the domain (a StatusError, a ShareRejected: status, code, message, maybe field)."""
    extra = {"field": exc.field} if getattr(exc, "field", None) else {}
    return json_error(exc.status, exc.code, exc.message, **extra)


_EXCEPTIONS = {400: web.HTTPBadRequest, 502: web.HTTPBadGateway, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
               404: web.HTTPNotFound, 409: web.HTTPConflict, 413: web.HTTPRequestEntityTooLarge,
               415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity, 429: web.HTTPTooManyRequests}


def refusal(status: int, code: str, message: str, **extra) -> web.HTTPException:
    """An HTTPException whose body is our JSON error."""
    body = json.dumps({"error": {"code": code, "message": message, **extra}})
    exc = _EXCEPTIONS.get(status, web.HTTPBadRequest)(text=body, content_type="application/json", reason=None)
    exc.error_code, exc.error_extra = code, extra  # type: ignore[attr-defined]
    exc.error_message = message  # type: ignore[attr-defined]
    return exc


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        code = getattr(exc, "error_code", None)  # a refusal() that carries its own code
        if code is not None:
            response = json_error(exc.status, code, exc.error_message, **exc.error_extra)
            if "Retry-After" in exc.headers:
                response.headers["Retry-After"] = exc.headers["Retry-After"]
            return response
        return json_error(exc.status, _CODES.get(exc.status, "error"), exc.reason or "request refused")
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        if request.path.startswith("/api/"):
            return json_error(500, "internal", "something went wrong on the agent; nothing was changed")
        raise web.HTTPInternalServerError(text="Something went wrong. Please ask a member of staff.") from None
