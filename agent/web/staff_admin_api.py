"""The staff dashboard's own routes: sign-in and accounts, sold out and the menu editor, tables
with their QR codes (JSON, in agent/staff/), and the dashboard's pages (agent/web/staff_pages.py).
One `routes` list for create_app: `app.add_routes(staff_admin_api.routes)`; the pages are in it, so
staff_pages.routes must not be added again."""

from aiohttp import web

from agent.staff import auth_api, menu_api, tables_api
from agent.web import staff_pages

routes: list[web.AbstractRouteDef] = [*auth_api.routes, *menu_api.routes, *tables_api.routes, *staff_pages.routes]
