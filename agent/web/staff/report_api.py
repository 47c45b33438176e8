"""The day's report for managers, as JSON or CSV."""


from aiohttp import web

from agent.state import STATE
from agent.visits import reports
from agent.web.errors import json_error
from agent.web.staff import answers as reply
from agent.web.staff.guard import staff_user
from contract.openapi import answers

routes = web.RouteTableDef()


routes = web.RouteTableDef()


@routes.get("/api/v1/staff/report")
@answers(200, reply.Report)
@answers(200, "text/csv")
async def day_report(request: web.Request) -> web.Response:
    await staff_user(request, "manager")
    state = request.app[STATE]
    day = request.query.get("date")
    try:
        report = await state.database.read(reports.day_report, day, state.config.restaurant.tax_mode)
    except ValueError as exc:
        return json_error(422, "invalid_date", str(exc), field="date")
    if request.query.get("format") == "csv":
        return web.Response(text=reports.as_csv(report), content_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="report-{report["date"]}.csv"'})
    return web.json_response({"report": report})
