"""Devices and the link: each printer's and the POS's state, queue and held tickets, a test print,
what staff do with a held ticket, and the hub link's state."""


from aiohttp import web

from agent.backup.service import BACKUPS
from agent.devices import held_jobs
from agent.devices.dispatch import queue_counts
from agent.devices.jobs import POS_DEVICE, add_job
from agent.state import STATE
from agent.store import outbox
from agent.visits.table_sessions import now_iso
from agent.web.errors import json_error
from agent.web.rate_limits import LIMITS
from agent.web.staff import answers as reply
from agent.web.staff.guard import ALL, staff_user
from contract.openapi import answers

routes = web.RouteTableDef()


@routes.get("/api/v1/staff/link")
@answers(200, reply.Link)
async def link_status(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    state = request.app[STATE]
    waiting = await state.database.read(outbox.waiting)
    return web.json_response({"connected": state.link.connected, "waiting": waiting,
                              "last_ack_at": state.link.last_ack_at.isoformat() if state.link.last_ack_at else None})




def _devices_snapshot(db, dispatcher) -> dict:
    counts = queue_counts(db)
    held = held_jobs.list_held(db)
    return {"devices": [{"name": name, "queue": counts.get(name, {}), **health.as_dict(),
                         "held": [j for j in held if j["device"] == name]}
                        for name, health in dispatcher.health.items()]}


@routes.get("/api/v1/staff/devices")
@answers(200, reply.Devices)
async def devices(request: web.Request) -> web.Response:
    """Each printer and the POS with live status, queue and held tickets, and the hub link."""
    await staff_user(request, *ALL)
    state = request.app[STATE]
    snapshot = await state.database.read(_devices_snapshot, state.dispatcher)
    waiting = await state.database.read(outbox.waiting)
    offline_since = state.link.offline_since
    snapshot["link"] = {"connected": state.link.connected, "waiting": waiting,
                        "last_ack_at": state.link.last_ack_at.isoformat() if state.link.last_ack_at else None,
                        "offline_since": offline_since.isoformat() if offline_since else None}
    backups = request.app.get(BACKUPS)
    if backups is not None:
        snapshot["backup"] = backups.status.as_dict(backups.alert_after)
    snapshot["alerts"] = _alerts(snapshot) + [
        # the same words while the flood lasts, so a banner staff dismissed stays dismissed
        f"{t['table_name']}: far too many orders or requests are coming from it, some were refused. Check the table."
        for t in request.app[LIMITS].flooded()]
    return web.json_response(snapshot)


def _alerts(snapshot: dict) -> list[str]:
    """What needs a person now: the red banner."""
    alerts = []
    for device in snapshot["devices"]:
        if device["held"]:
            alerts.append(f"{len(device['held'])} ticket(s) held on {device['name']}: print, reprint or drop them")
        if device.get("failures"):
            alerts.append(f"{device['name']} is failing: {device.get('last_error') or 'no answer'}")
    backup = snapshot.get("backup")
    if backup and backup["stale"]:  # the same words while it lasts, so a dismissed banner stays dismissed
        alerts.append("Backups: no good backup for over an hour. Check the backup disk, or call support "
                      "(the Devices screen says what failed).")
    return alerts


@routes.post("/api/v1/staff/devices/{name}/test-print")
@answers(202, reply.Queued)
async def test_print(request: web.Request) -> web.Response:
    user = await staff_user(request, *ALL, change=True)
    state = request.app[STATE]
    name = request.match_info["name"]
    if name not in state.dispatcher.devices or name == POS_DEVICE:
        return json_error(404, "not_found", f"no printer named {name!r}")
    await state.database.write(add_job, name, "kitchen_ticket", {
        "table_name": "TEST PAGE", "order_number": 0, "placed_at": now_iso(),
        "lines": [{"qty": 1, "name": f"Test print for {name}", "modifiers": [], "course": "",
                   "note": f"Asked by {user.name}. If you can read this, printing works."}]})
    state.dispatcher.wake(name)
    return web.json_response({"queued": True}, status=202)


@routes.post("/api/v1/staff/jobs/{job_id}/{action}")
@answers(200, reply.JobDone)
async def held_job(request: web.Request) -> web.Response:
    """A held ticket: "release" (print as is), "reprint" (marked REPRINT) or "drop"."""
    await staff_user(request, *ALL, change=True)
    state = request.app[STATE]
    action = request.match_info["action"]
    actions = {"release": held_jobs.release, "reprint": held_jobs.reprint, "drop": held_jobs.drop}
    if action not in actions:
        return json_error(404, "not_found", "action must be release, reprint or drop")
    try:
        await state.database.write(actions[action], request.match_info["job_id"])
    except held_jobs.JobError as exc:
        return json_error(409, "not_held", str(exc))
    state.dispatcher.wake()
    return web.json_response({"done": action})
