"""The staff shell and its files."""


async def test_staff_shell_has_sign_in_alerts_and_every_screen(staff_client):
    resp = await staff_client.get("/staff")
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["X-Frame-Options"] == "DENY"
    page = await resp.text()
    for needed in ('id="alerts"', 'id="signin-form"', 'id="shell"', 'type="password"'):
        assert needed in page
    for screen in ("board", "requests", "bills", "tables", "menu", "devices", "report"):
        assert f'id="screen-{screen}"' in page and f'href="#{screen}"' in page


async def test_staff_assets_are_served_and_unknown_ones_are_404(staff_client):
    for name in ("app.js", "api.js", "alerts.js", "dom.js", "menu.js", "tables.js", "staff.css"):
        resp = await staff_client.get(f"/staff/assets/{name}")
        assert resp.status == 200, name
    assert (await staff_client.get("/staff/assets/nope.js")).status == 404
    assert (await staff_client.get("/staff/assets/..%2Fdiner%2Fapp.js")).status == 404


async def test_dashboard_scripts_are_revalidated_after_an_upgrade(staff_client):
    response = await staff_client.get("/static/staff/screens/board.js")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-cache"
    assert "Last-Modified" in response.headers
