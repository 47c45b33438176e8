"""Every route of the staff dashboard, one list for create_app: the service screens (board, bills,
devices, report), sign-in and accounts, the menu editor, tables with their QR codes, and the
dashboard's pages."""

from aiohttp import web

from agent.web.staff import (
    auth_api,
    bills_api,
    board_api,
    devices_api,
    menu_api,
    pages,
    report_api,
    tables_api,
)

staff_routes: list[web.AbstractRouteDef] = [
    route for module in (board_api, bills_api, devices_api, report_api, auth_api, menu_api, tables_api, pages)
    for route in module.routes]
