"""Sign-in, the session, sign-out, and the managers' staff account list (JSON).

POST   /api/v1/staff/session          {"name", "secret"} -> {"staff", "csrf_token"} + session cookie
GET    /api/v1/staff/session          -> {"staff", "csrf_token"}
DELETE /api/v1/staff/session          sign out (needs the CSRF token)
GET    /api/v1/staff/accounts         managers
POST   /api/v1/staff/accounts         {"name", "role", "secret"}
PATCH  /api/v1/staff/accounts/{id}    {"role"?, "secret"?, "disabled"?}
DELETE /api/v1/staff/accounts/{id}    disable (the row stays: orders and voids name it)
"""

import math

from aiohttp import web

from agent.staff import accounts, clock, sessions, signin
from agent.staff.secrets import SecretError, secret_kind
from agent.state import STATE
from agent.web.errors import refusal
from agent.web.json_body import json_object
from agent.web.staff import answers as reply
from agent.web.staff.guard import COOKIE, current_session, staff_user
from contract.openapi import answers

routes = web.RouteTableDef()


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _staff(account_id: str, name: str, role: str) -> dict:
    return {"id": account_id, "name": name, "role": role}


@routes.post("/api/v1/staff/session")
@answers(200, reply.Session)
async def sign_in(request: web.Request) -> web.Response:
    body = await json_object(request)
    try:
        state = request.app[STATE]
        done = await signin.sign_in(state.database, body.get("name"), body.get("secret"), _client(request),
                                    hasher=state.hasher)
    except signin.SignInRefused as exc:
        extra = {"retry_at": clock.iso(exc.retry_at)} if exc.retry_at else {}
        refused = refusal(exc.status, exc.code, exc.message, **extra)
        if exc.retry_at:
            refused.headers["Retry-After"] = str(max(1, math.ceil((exc.retry_at - clock.now()).total_seconds())))
        raise refused from None
    response = web.json_response({"staff": _staff(done.account_id, done.name, done.role),
                                  "csrf_token": done.csrf_token})
    # no max_age: the cookie goes when the browser closes; the server ends idle sessions itself
    response.set_cookie(COOKIE, done.session_id, httponly=True, samesite="Strict", path="/",
                        secure=request.secure)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/api/v1/staff/session")
@answers(200, reply.Session)
async def whoami(request: web.Request) -> web.Response:
    info = await current_session(request)
    return web.json_response({"staff": _staff(info.account_id, info.name, info.role),
                              "csrf_token": info.csrf_token}, headers={"Cache-Control": "no-store"})


@routes.delete("/api/v1/staff/session")
@answers(200, reply.SignedOut)
async def sign_out(request: web.Request) -> web.Response:
    await staff_user(request, change=True)
    await request.app[STATE].database.write(sessions.close_session, request.cookies[COOKIE])
    response = web.json_response({"signed_out": True})
    response.del_cookie(COOKIE, path="/")
    return response


def _account_refused(exc: accounts.AccountError | SecretError) -> web.HTTPException:
    if isinstance(exc, SecretError):
        return refusal(400, "invalid_secret", str(exc))
    return refusal(exc.status, exc.code, exc.message)


@routes.get("/api/v1/staff/accounts")
@answers(200, reply.Accounts)
async def list_accounts(request: web.Request) -> web.Response:
    await staff_user(request, "manager")
    found = await request.app[STATE].database.read(accounts.list_accounts)
    return web.json_response({"accounts": [a.public() for a in found]})


async def _hashed(request: web.Request, secret: object) -> tuple[str, str]:
    kind = secret_kind(secret)
    return await request.app[STATE].hasher.hash(secret), kind  # type: ignore[arg-type]


@routes.post("/api/v1/staff/accounts")
@answers(201, reply.OneAccount)
async def add_account(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    body = await json_object(request)
    try:
        name, role = accounts.check_name(body.get("name")), accounts.check_role(body.get("role"))
        secret_hash, kind = await _hashed(request, body.get("secret"))
        account = await request.app[STATE].database.write(accounts.insert_account, name, role, secret_hash, kind)
    except (accounts.AccountError, SecretError) as exc:
        raise _account_refused(exc) from None
    return web.json_response({"account": account.public()}, status=201)


@routes.patch("/api/v1/staff/accounts/{account_id}")
@answers(200, reply.OneAccount)
async def change_account(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    body = await json_object(request)
    unknown = set(body) - {"role", "secret", "disabled"}
    if unknown or not body:
        raise refusal(400, "bad_request", "send one or more of: role, secret, disabled")
    if "disabled" in body and not isinstance(body["disabled"], bool):
        raise refusal(400, "bad_request", "disabled is true or false")
    try:
        role = accounts.check_role(body["role"]) if "role" in body else None
        secret = await _hashed(request, body["secret"]) if "secret" in body else None
        account = await request.app[STATE].database.write(
            lambda db: accounts.update_account(db, request.match_info["account_id"], role=role, secret=secret,
                                               disabled=body.get("disabled")))
    except (accounts.AccountError, SecretError) as exc:
        raise _account_refused(exc) from None
    return web.json_response({"account": account.public()})


@routes.delete("/api/v1/staff/accounts/{account_id}")
@answers(200, reply.OneAccount)
async def disable_account(request: web.Request) -> web.Response:
    await staff_user(request, "manager", change=True)
    try:
        account = await request.app[STATE].database.write(
            lambda db: accounts.update_account(db, request.match_info["account_id"], disabled=True))
    except accounts.AccountError as exc:
        raise _account_refused(exc) from None
    return web.json_response({"account": account.public()})
