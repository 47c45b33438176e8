"""Helpers for tests of the staff side: accounts, signing in, and an app with the staff routes.

    await add_account(client, "Ana", "manager", "1234")
    csrf = await sign_in(client, "Ana", "1234")          # the client keeps the session cookie
    await client.post(url, json=..., headers={"X-CSRF-Token": csrf})
or in one step: csrf = await signed_in(client, "manager")
"""

from aiohttp import web

from agent.staff.accounts import Account, create_account
from agent.state import STATE

PINS = {"manager": "4321", "server": "5678", "kitchen": "8765"}


def with_staff_routes(app: web.Application) -> web.Application:
    """Add the staff pages and APIs to an app from create_app, unless it has them already."""
    from agent.web.staff.routes import staff_routes

    have = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    app.add_routes([r for r in staff_routes if (r.method, r.path) not in have])
    return app


async def add_account(client, name: str, role: str, secret: str) -> Account:
    return await client.app[STATE].database.write(create_account, name, role, secret)


async def sign_in(client, name: str, secret: str) -> str:
    """Sign in through the API; the CSRF token (the test client keeps the cookie)."""
    resp = await client.post("/api/v1/staff/session", json={"name": name, "secret": secret})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["csrf_token"]


async def signed_in(client, role: str, name: str | None = None) -> str:
    """Create an account with that role and sign in as it; the CSRF token."""
    name = name or role.capitalize()
    await add_account(client, name, role, PINS[role])
    return await sign_in(client, name, PINS[role])


def csrf(token: str) -> dict:
    return {"X-CSRF-Token": token}
