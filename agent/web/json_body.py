"""Reading a JSON object from a request body, for the diner and staff handlers alike; a body that is
not one is refused with errors.refusal(...), which the error middleware answers as our JSON error."""

from aiohttp import web

from agent.web.errors import refusal


async def json_object(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise refusal(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise refusal(400, "bad_request", "the body must be a JSON object")
    return body
