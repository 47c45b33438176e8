"""Agents' backups over HTTP (hub/backups/, docs/recovery.md).

The box's calls are signed with its TLS key (contract/signed_request.py): upload a sealed backup,
list and fetch its own, say it was restored (answering the gap). A replacement box claims the dead
box's id with a replacement code, like pairing and limited like it. Operators list what is held
(names, sizes, times: the files themselves are sealed with the restaurant's key).
"""

import asyncio
from datetime import datetime

import msgspec
from aiohttp import web

from contract import signed_request
from contract.openapi import answers
from hub.appkeys import BACKUPS, CONFIG, ENROLLMENT, STORE
from hub.backups import claim as claiming
from hub.backups import gap, signed
from hub.backups.blobs import BadName
from hub.enrollment.service import EnrollmentRefused
from hub.web.auth import require_operator
from hub.web.enrollment_answers import Backups, Claimed, Gap, Uploaded
from hub.web.enrollment_api import FailedTries
from hub.web.errors import ApiError
from hub.web.json_body import json_kind, read_json_object, read_limited
from hub.web.operator_api import json

BODY_LIMIT = 16 * 1024
_TRIES = web.AppKey("backup_claim_tries", FailedTries)


async def _signed_by_path_agent(request: web.Request, body: bytes) -> str:
    enrollment = request.app[ENROLLMENT]
    try:
        agent_id = await asyncio.to_thread(signed.check, await enrollment.ca(), request.app[STORE].engine,
                                           request.method, request.raw_path.split("?")[0], request.headers, body)
    except signed.NotSigned as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    if agent_id != request.match_info["agent_id"]:
        raise ApiError(403, "forbidden", f"signed by {agent_id}: a box reaches only its own backups")
    return agent_id


def _require_signature_headers(request: web.Request) -> None:
    """Before reading a large body: a request that cannot be signed is refused at once."""
    for name in (signed_request.CERTIFICATE, signed_request.SIGNED_AT, signed_request.SIGNATURE):
        if name not in request.headers:
            raise ApiError(401, "unauthorized", f"{name}: missing; this request must be signed by the agent's key")


def _meta(request: web.Request) -> dict:
    headers = request.headers
    created_at = headers.get("X-Tableside-Backup-Created-At", "")
    try:
        if datetime.fromisoformat(created_at).tzinfo is None:
            raise ValueError
    except ValueError:
        raise ApiError(422, "invalid", "X-Tableside-Backup-Created-At: expected an ISO 8601 time with its zone") from None
    key_id = headers.get("X-Tableside-Backup-Key-Id", "")
    if not claiming.KEY_ID.fullmatch(key_id):
        raise ApiError(422, "invalid", "X-Tableside-Backup-Key-Id: expected 16 hex digits")
    seq = headers.get("X-Tableside-Backup-Outbox-Seq", "")
    if not seq.isdigit() or len(seq) > 18:
        raise ApiError(422, "invalid", "X-Tableside-Backup-Outbox-Seq: expected a whole number")
    return {"created_at": created_at, "key_id": key_id, "outbox_seq": int(seq)}


@answers(201, Uploaded, "kept")
async def upload(request: web.Request) -> web.Response:
    """A box's sealed backup (application/octet-stream), signed by the box; kept, the newest `keep`.
    Answers also the highest seq the hub holds from the box (hub_max_seq)."""
    _require_signature_headers(request)
    meta = _meta(request)
    limit = int(request.app[CONFIG].backups_max_mb * 1024 * 1024)
    blob = await read_limited(request, limit, f"a backup may be at most {limit} bytes ([backups] max_mb)")
    if not blob:
        raise ApiError(400, "bad_request", "the body is empty: expected the sealed backup file")
    agent_id = await _signed_by_path_agent(request, blob)
    try:
        described = await asyncio.to_thread(request.app[BACKUPS].save, agent_id, request.match_info["name"], blob,
                                            {**meta, "uploaded_at": datetime.now().astimezone().isoformat()})
    except BadName as exc:
        raise ApiError(422, "invalid", str(exc)) from None

    def highest() -> int:
        with request.app[STORE].engine.connect() as conn:
            return gap.highest_seq(conn, agent_id)
    # the box compares it with what it saw acked: lower means this hub lost messages (a restored database)
    return json({**described, "hub_max_seq": await asyncio.to_thread(highest)}, status=201)


upload.public = True  # type: ignore[attr-defined]  (signed by the box, no operator token)


@answers(200, Backups)
async def listing(request: web.Request) -> web.Response:
    """The agent's backups held here, newest first: for the box itself (signed) or the operator."""
    if signed_request.SIGNATURE in request.headers:
        await _signed_by_path_agent(request, b"")
    else:
        require_operator(request)
    try:
        found = await asyncio.to_thread(request.app[BACKUPS].listing, request.match_info["agent_id"])
    except BadName as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    return json({"backups": found})


listing.public = True  # type: ignore[attr-defined]


@answers(200, "application/octet-stream", "the sealed file")
async def download(request: web.Request) -> web.Response:
    """One sealed backup, for the box (signed) that made it or took its place."""
    _require_signature_headers(request)
    agent_id = await _signed_by_path_agent(request, b"")
    try:
        blob = await asyncio.to_thread(request.app[BACKUPS].read, agent_id, request.match_info["name"])
    except BadName as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    if blob is None:
        raise ApiError(404, "not_found", f"no backup {request.match_info['name']!r} of {agent_id}")
    return web.Response(body=blob, content_type="application/octet-stream", headers={"Cache-Control": "no-store"})


download.public = True  # type: ignore[attr-defined]


@answers(200, Gap)
async def restored(request: web.Request) -> web.Response:
    """The box runs from a backup ({backup_created_at, outbox_seq}): what the hub sent since goes
    again; answers what the hub knows of the gap."""
    _require_signature_headers(request)
    raw = await read_limited(request, BODY_LIMIT)
    agent_id = await _signed_by_path_agent(request, raw)
    try:
        body = msgspec.json.decode(raw) if raw.strip() else {}
    except (msgspec.DecodeError, RecursionError):
        raise ApiError(400, "bad_request", "the body is not valid JSON: expected {backup_created_at, outbox_seq}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", f"the body must be a JSON object, got {json_kind(body)}")
    try:
        backup_at = datetime.fromisoformat(str(body.get("backup_created_at")))
        if backup_at.tzinfo is None:
            raise ValueError
    except ValueError:
        raise ApiError(422, "invalid", "backup_created_at: expected an ISO 8601 time with its zone, got "
                                       f"{json_kind(body.get('backup_created_at'))}") from None

    def work() -> dict:
        with request.app[STORE].engine.begin() as conn:
            return gap.after_restore(conn, agent_id, backup_at)
    # the down pump's sweep sends what was requeued as soon as the box is online
    return json(await asyncio.to_thread(work))


restored.public = True  # type: ignore[attr-defined]


@answers(201, Claimed, "taken over")
async def claim(request: web.Request) -> web.Response:
    """A replacement box takes over the dead box's agent id: {code (a replacement code), csr, key_id
    (from the recovery code), agent_id?, from_hub? (false: it restores its own file)}; answers its
    certificate and the backups to restore from."""
    tries = request.app[_TRIES]
    client = tries.check(request)
    body = await read_json_object(request, "a claim {code, csr, key_id, agent_id?}", BODY_LIMIT)
    for key, limit in (("code", 64), ("csr", 8000), ("key_id", 64)):
        if not isinstance(body.get(key), str) or not body[key].strip() or len(body[key]) > limit:
            raise ApiError(422, "invalid", f"{key}: expected a non-empty string of at most {limit} characters, "
                                           f"got {json_kind(body.get(key))}")
    agent_id = body.get("agent_id")
    if agent_id is not None and (not isinstance(agent_id, str) or len(agent_id) > 200):
        raise ApiError(422, "invalid", f"agent_id: expected a string, got {json_kind(agent_id)}")
    from_hub = body.get("from_hub", True)
    if not isinstance(from_hub, bool):
        raise ApiError(422, "invalid", f"from_hub: expected true or false, got {json_kind(from_hub)}")
    app = request.app
    try:
        answer = await claiming.claim(app[ENROLLMENT], app[STORE].engine, app[BACKUPS], app[CONFIG],
                                      code_text=body["code"], csr_pem=body["csr"], key_id=body["key_id"],
                                      agent_id=agent_id, from_hub=from_hub)
    except EnrollmentRefused as exc:
        if exc.code == "invalid_code":
            tries.failed(client)
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return json(answer, status=201)


claim.public = True  # type: ignore[attr-defined]


def setup_routes(app: web.Application) -> None:
    app[_TRIES] = FailedTries()
    app.router.add_post("/api/v1/backups/claim", claim)
    app.router.add_get("/api/v1/agents/{agent_id}/backups", listing)
    app.router.add_put("/api/v1/agents/{agent_id}/backups/{name}", upload)
    app.router.add_get("/api/v1/agents/{agent_id}/backups/{name}", download)
    app.router.add_post("/api/v1/agents/{agent_id}/restored", restored)
