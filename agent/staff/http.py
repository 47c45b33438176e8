"""Small helpers for the staff JSON handlers. Refusals are raised as guard.refusal(...); the error
middleware (agent/web/errors.py) answers them with their own code and message."""

from aiohttp import web

from agent.staff.guard import refusal


async def json_object(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise refusal(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise refusal(400, "bad_request", "the body must be a JSON object")
    return body
