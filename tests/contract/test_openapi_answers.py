"""contract/openapi.py: what a handler declares is what the description says, and in tests an
answer unlike its declaration is a 500 that names the mismatch."""

from aiohttp import web

from contract.openapi import Answer, Bodies, answers, check_answers


class Greeting(Answer):
    text: str


@answers(200, Greeting)
async def greets(request: web.Request) -> web.Response:
    return web.json_response({"text": "hello"})


@answers(200, Greeting)
async def says_more(request: web.Request) -> web.Response:
    return web.json_response({"text": "hello", "secret": "not described"})


@answers(200, Greeting)
async def wrong_status(request: web.Request) -> web.Response:
    return web.json_response({"text": "made"}, status=201)


@answers(204)
@answers(200, Greeting)
@answers(200, "text/csv")
async def both(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _client(aiohttp_client):
    app = web.Application(middlewares=[check_answers])
    for path, handler in (("/ok", greets), ("/more", says_more), ("/status", wrong_status), ("/both", both)):
        app.router.add_get(path, handler)
    return await aiohttp_client(app)


async def test_an_answer_as_declared_passes_and_any_other_is_a_500(aiohttp_client):
    client = await _client(aiohttp_client)
    assert (await client.get("/ok")).status == 200
    assert (await client.get("/both")).status == 204
    assert (await client.get("/more")).status == 500  # a field the description does not name
    assert (await client.get("/status")).status == 500  # a status it does not declare


async def test_the_description_names_each_status_and_body(aiohttp_client):
    client = await _client(aiohttp_client)
    routes = list(client.app.router.routes())
    bodies = Bodies(routes)
    both_route = next(r for r in routes if r.handler is both)
    described = bodies.responses(both_route.handler)
    assert set(described) == {"200", "204"} and "content" not in described["204"]
    assert set(described["200"]["content"]) == {"application/json", "text/csv"}
    assert described["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Greeting"}
    assert bodies.components["Greeting"]["additionalProperties"] is False
