"""A payment in progress is not a paid bill (issue 16, point 1). Phone A asks for half and leaves
the pay page without paying; phone B pays the other half. Every phone must say that someone is
paying the rest, never "fully paid"; staff release the held half in one tap and the table can pay
it again."""

from playwright.async_api import expect

from tests.agent.helpers import place, table_tokens
from tests.agent.staff.helpers import signed_in
from tests.agent.web.diner.conftest import url_of
from tests.agent.web.diner.test_menu_and_order import open_table
from tests.agent.web.diner.test_visit_and_bill import pay


async def test_a_held_half_is_in_progress_not_paid_and_staff_can_release_it(online_client, phone):
    token = (await table_tokens(online_client))["Table 1"]
    for item in ("onion-soup", "escargots"):  # 9.50 + 13.50
        assert (await place(online_client, token, [{"item_id": item, "qty": 1}])).status == 201

    async def half(key: str) -> dict:
        resp = await online_client.post(f"/api/v1/tables/{token}/bill/shares", json={"kind": "equal", "parts": 2},
                                        headers={"Idempotency-Key": key})
        assert resp.status == 201, await resp.text()
        return (await resp.json())["share"]

    left_unpaid = await half("phone-a-half")  # phone A went to the pay page and came back without paying
    paid_half = await half("phone-b-half")
    await pay(online_client, paid_half["id"])

    page = await phone()
    await open_table(page, (await url_of(online_client)) + "#bill")
    box = page.locator("#bill-box")
    await expect(box).to_contain_text("Someone at the table is paying the rest (€11.50) right now.")
    await expect(box).not_to_contain_text("fully paid")
    await expect(page.locator(".totals .left")).to_contain_text("€0.00")

    csrf = await signed_in(online_client, "server")
    released = await online_client.post(f"/api/v1/staff/shares/{left_unpaid['id']}/release", json={},
                                        headers={"X-CSRF-Token": csrf})
    assert released.status == 200, await released.text()
    await expect(page.locator(".totals .left")).to_contain_text("€11.50")  # live, no reload
    await expect(box).not_to_contain_text("paying the rest")
    again = await online_client.post(f"/api/v1/staff/shares/{left_unpaid['id']}/release", json={},
                                     headers={"X-CSRF-Token": csrf})
    assert again.status == 404  # nothing held under that id any more
    assert page.js_errors == []
