"""Enrollment over HTTP: the box's two calls (enroll with a code, renew with its certificate) and
the operator's (make, list and cancel codes; revoke an agent).

The box's calls are public, so guessing is limited here: failed codes per client address and
across all clients, per worker (with 40-bit codes that live 30 minutes, a guesser at these rates
needs centuries). Every refused code gets the same answer, whether it never existed, was used,
expired or was cancelled.
"""

import time
from collections import deque

from aiohttp import web

from contract.openapi import answers
from hub.appkeys import ENROLLMENT
from hub.enrollment.service import EnrollmentRefused
from hub.web.auth import operator_only
from hub.web.enrollment_answers import Code, Codes, Enrolled, NewCode, Renewed, Revoked
from hub.web.errors import ApiError
from hub.web.json_body import json_kind, read_json_object
from hub.web.operator_api import json

BODY_LIMIT = 16 * 1024  # a CSR and a key fit many times over
FAILURES_PER_CLIENT = 10  # wrong codes from one address per window
FAILURES_ALL_CLIENTS = 200  # wrong codes from everyone per window
WINDOW_S = 600.0


class FailedTries:
    """Wrong codes in the last WINDOW_S, per client and in all."""

    def __init__(self) -> None:
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        return times

    def refused(self, client: str) -> float | None:
        """Seconds to wait if this client may not try now, else None."""
        now = time.monotonic()
        mine = self._trim(self._by_client.get(client, deque()), now)
        everyone = self._trim(self._all, now)
        if len(mine) >= FAILURES_PER_CLIENT:
            return mine[0] + WINDOW_S - now
        if len(everyone) >= FAILURES_ALL_CLIENTS:
            return everyone[0] + WINDOW_S - now
        return None

    def check(self, request: web.Request) -> str:
        """The request's client; a 429 with Retry-After when it (or everyone) failed too often."""
        client = request.remote or "?"
        wait = self.refused(client)
        if wait is not None:
            raise ApiError(429, "too_many_requests", "too many wrong codes; try again later",
                           headers={"Retry-After": str(max(1, int(wait)))})
        return client

    def failed(self, client: str) -> None:
        now = time.monotonic()
        if len(self._by_client) > 10_000:  # a spray from many addresses: forget the oldest half
            for key in list(self._by_client)[:5_000]:
                del self._by_client[key]
        self._by_client.setdefault(client, deque()).append(now)
        self._all.append(now)


_TRIES = web.AppKey("enrollment_tries", FailedTries)


def _text(body: dict, key: str, limit: int = 8000) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid", f"{key}: expected a non-empty string, got {json_kind(value)}")
    if len(value) > limit:
        raise ApiError(422, "invalid", f"{key}: at most {limit} characters")
    return value


def _refused(exc: EnrollmentRefused) -> ApiError:
    return ApiError(exc.status, exc.code, str(exc))


@answers(201, Enrolled, "paired")
async def enroll(request: web.Request) -> web.Response:
    """Pair a box: a one-time code, a CSR for its TLS key and its pay-link key; answers its agent id,
    certificate, the CA's certificate and where the broker is."""
    tries = request.app[_TRIES]
    client = tries.check(request)
    body = await read_json_object(request, "an enrollment request {code, csr, signing_key}", BODY_LIMIT)
    code = _text(body, "code", 64)
    csr, signing_key = _text(body, "csr"), _text(body, "signing_key", 200)
    try:
        answer = await request.app[ENROLLMENT].enroll(code, csr, signing_key)
    except EnrollmentRefused as exc:
        if exc.code == "invalid_code":
            tries.failed(client)
        raise _refused(exc) from None
    return json(answer, status=201)


enroll.public = True  # type: ignore[attr-defined]  (hub/web/openapi.py: no operator token)


@answers(200, Renewed)
async def renew(request: web.Request) -> web.Response:
    """A new certificate for an agent that proves it holds its current one (signed_at and a signature
    over the CSR by the current key)."""
    body = await read_json_object(request, "a renewal {certificate, csr, signed_at, signature}", BODY_LIMIT)
    try:
        answer = await request.app[ENROLLMENT].renew(_text(body, "certificate"), _text(body, "csr"),
                                                     _text(body, "signed_at", 64), _text(body, "signature", 400))
    except EnrollmentRefused as exc:
        raise _refused(exc) from None
    return json(answer)


renew.public = True  # type: ignore[attr-defined]


@operator_only
@answers(201, NewCode, "made; its value is shown this once")
async def make_code(request: web.Request) -> web.Response:
    """A new enrollment code for the restaurant, shown once (`replaces`: the new box takes over and
    the restaurant's current agents are revoked when it enrolls)."""
    body = await read_json_object(request, "{replaces?, minutes?}", BODY_LIMIT) if request.can_read_body else {}
    replaces = body.get("replaces", False)
    minutes = body.get("minutes")
    if not isinstance(replaces, bool):
        raise ApiError(422, "invalid", f"replaces: expected true or false, got {json_kind(replaces)}")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int | float)
                                or not 1 <= minutes <= 7 * 24 * 60):
        raise ApiError(422, "invalid", "minutes: expected a number from 1 to 10080")
    try:
        code, view = await request.app[ENROLLMENT].make_code(request.match_info["id"], replaces=replaces,
                                                             minutes=minutes)
    except EnrollmentRefused as exc:
        raise _refused(exc) from None
    return json({"code": code, **view}, status=201)


@operator_only
@answers(200, Codes)
async def list_codes(request: web.Request) -> web.Response:
    """The restaurant's enrollment codes and their state (never their values)."""
    return json({"codes": await request.app[ENROLLMENT].list_codes(request.match_info["id"])})


@operator_only
@answers(200, Code, "the code as it now stands")
async def cancel_code(request: web.Request) -> web.Response:
    """Cancel an enrollment code that is not used yet."""
    view = await request.app[ENROLLMENT].cancel_code(request.match_info["code_id"])
    if view is None:
        raise ApiError(404, "not_found", f"no enrollment code {request.match_info['code_id']!r}")
    return json(view)


@operator_only
@answers(200, Revoked)
async def revoke(request: web.Request) -> web.Response:
    """Revoke an agent: its certificates go on the CRL, the hub applies nothing more from it."""
    agent_id = request.match_info["agent_id"]
    body = await read_json_object(request, "{reason?}", BODY_LIMIT) if request.can_read_body else {}
    reason = body.get("reason", "revoked by the operator")
    if not isinstance(reason, str) or len(reason) > 500:
        raise ApiError(422, "invalid", "reason: expected a string of at most 500 characters")
    if not await request.app[ENROLLMENT].revoke(agent_id, reason):
        raise ApiError(404, "not_found", f"no enrolled agent {agent_id!r} that is not revoked already")
    return json({"agent_id": agent_id, "revoked": True})


def setup_routes(app: web.Application) -> None:
    app[_TRIES] = FailedTries()
    app.router.add_post("/api/v1/enroll", enroll)
    app.router.add_post("/api/v1/enroll/renew", renew)
    app.router.add_post("/api/v1/restaurants/{id}/enrollment-codes", make_code)
    app.router.add_get("/api/v1/restaurants/{id}/enrollment-codes", list_codes)
    app.router.add_delete("/api/v1/enrollment-codes/{code_id}", cancel_code)
    app.router.add_post("/api/v1/agents/{agent_id}/revoke", revoke)
