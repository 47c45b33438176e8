import asyncio
import json

import pytest

from drivers.pos.base import PosError, PosLine, PosOrder
from drivers.pos.simulator import SimulatorPos


def order(order_id: str = "ord-1", number: int = 1) -> PosOrder:
    return PosOrder(order_id, number, "Table 2", "EUR", 2300, [PosLine("pizza-m", "Margherita", 2, 1150, ["Extra cheese"], "")])


def file_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_same_key_same_ref_one_line(tmp_path):
    path = tmp_path / "checks.jsonl"
    pos = SimulatorPos(path=path)
    ref = await pos.submit_order(order(), "key-1")
    assert ref == "CHK-0001"
    assert await pos.submit_order(order(), "key-1") == ref
    [check] = file_lines(path)
    assert check["ref"] == ref and check["idempotency_key"] == "key-1"
    assert check["order_id"] == "ord-1" and check["total_minor"] == 2300
    assert check["lines"][0]["modifiers"] == ["Extra cheese"]
    assert "created_at" in check
    assert pos.checks == [{**check, "orders": [1]}]


async def test_concurrent_submits_with_one_key_make_one_check(tmp_path):
    pos = SimulatorPos(path=tmp_path / "checks.jsonl")
    refs = await asyncio.gather(*(pos.submit_order(order(), "k") for _ in range(5)))
    assert set(refs) == {"CHK-0001"}
    assert len(file_lines(tmp_path / "checks.jsonl")) == 1


async def test_new_keys_new_refs(tmp_path):
    pos = SimulatorPos(path=tmp_path / "checks.jsonl")
    assert await pos.submit_order(order("a"), "k1") == "CHK-0001"
    assert await pos.submit_order(order("b", 2), "k2") == "CHK-0002"


async def test_idempotency_survives_a_restart(tmp_path):
    path = tmp_path / "sub" / "checks.jsonl"
    first = SimulatorPos(path=path)
    ref = await first.submit_order(order(), "key-1")
    await first.close()

    second = SimulatorPos(path=path)
    assert await second.submit_order(order(), "key-1") == ref
    assert await second.submit_order(order("ord-2", 2), "key-2") == "CHK-0002"
    assert [c["ref"] for c in file_lines(path)] == ["CHK-0001", "CHK-0002"]


async def test_torn_last_line_is_skipped_and_not_glued_to(tmp_path):
    path = tmp_path / "checks.jsonl"
    await SimulatorPos(path=path).submit_order(order(), "key-1")
    with path.open("a") as f:
        f.write('{"ref": "CHK-00')  # power cut mid-write
    pos = SimulatorPos(path=path)
    assert await pos.submit_order(order("ord-2", 2), "key-2") == "CHK-0002"
    again = SimulatorPos(path=path)
    assert await again.submit_order(order("ord-2", 2), "key-2") == "CHK-0002"
    assert [c["ref"] for c in again.checks] == ["CHK-0001", "CHK-0002"]


async def test_key_reused_for_another_order_is_refused():
    pos = SimulatorPos()
    await pos.submit_order(order("a"), "k")
    with pytest.raises(PosError, match="already used"):
        await pos.submit_order(order("b"), "k")


async def test_in_memory_without_path():
    pos = SimulatorPos()
    assert await pos.submit_order(order(), "k") == await pos.submit_order(order(), "k")
    assert len(pos.checks) == 1
    assert "in memory" in pos.describe()


async def test_empty_key_is_refused():
    with pytest.raises(PosError):
        await SimulatorPos().submit_order(order(), "")


async def test_payments_and_close_survive_a_restart(tmp_path):
    path = tmp_path / "checks.jsonl"
    pos = SimulatorPos(path=path)
    ref = await pos.submit_order(order(), "key-1")
    pay = await pos.add_payment(ref, 2000, 200, "card", "pay-1")
    assert await pos.add_payment(ref, 2000, 200, "card", "pay-1") == pay
    await pos.add_payment(ref, 300, 0, "cash", "pay-2")
    await pos.close_check(ref)
    await pos.close_check(ref)
    with pytest.raises(PosError, match="closed"):
        await pos.add_payment(ref, 1, 0, "cash", "pay-3")
    again = SimulatorPos(path=path)
    assert await again.submit_order(order("ord-2", 2), "key-2") == "CHK-0002"
    assert again.is_closed(ref) and not again.is_closed("CHK-0002")
    assert [p["amount_minor"] for p in again.payments_for(ref)] == [2000, 300]
    assert await again.add_payment(ref, 2000, 200, "card", "pay-1") == pay
    assert [c["ref"] for c in again.checks] == ["CHK-0001", "CHK-0002"]


async def test_payment_on_unknown_check_is_refused():
    with pytest.raises(PosError, match="no check"):
        await SimulatorPos().add_payment("CHK-9999", 100, 0, "cash", "k")


async def test_menu_sold_out_and_updates():
    from drivers.pos.base import PosUpdate
    pos = SimulatorPos()
    await pos.submit_order(order(), "k")
    [item] = (await pos.fetch_menu()).items
    assert (item.pos_id, item.name, item.price_minor, item.available) == ("pizza-m", "Margherita", 1150, True)
    assert [m.name for m in item.modifiers] == ["Extra cheese"]
    updates, cursor = await pos.poll_updates(None)
    assert updates == []
    pos.set_sold_out("pizza-m", True)
    pos.set_sold_out("pizza-m", True)  # no change, no update
    assert not (await pos.fetch_menu()).items[0].available
    updates, cursor = await pos.poll_updates(cursor)
    assert updates == [PosUpdate("sold_out", "pizza-m", "")]
    pos.set_sold_out("pizza-m", False)
    await pos.close_check("CHK-0001")
    updates, cursor = await pos.poll_updates(cursor)
    assert updates == [PosUpdate("back_in_stock", "pizza-m", ""), PosUpdate("check_status", "CHK-0001", "COMPLETED")]
    assert (await pos.poll_updates(cursor))[0] == []
    assert "1 check(s), 1 closed" in await pos.check()
    assert pos.parse_webhook({}, b'[{"kind": "sold_out", "pos_id": "x"}]') == [PosUpdate("sold_out", "x", "")]
    with pytest.raises(PosError):
        pos.parse_webhook({}, b"nope")


def visit_order(order_id: str, number: int, visit: str, total: int = 2300) -> PosOrder:
    return PosOrder(order_id, number, "Table 2", "EUR", total,
                    [PosLine(f"item-{number}", f"Dish {number}", 1, total, [], "")], visit_id=visit)


async def test_one_check_per_table_visit_each_order_added_to_it(tmp_path):
    """A till keeps one check per table: every order of the visit goes onto it (issue 16, point 3)."""
    path = tmp_path / "checks.jsonl"
    pos = SimulatorPos(path=path)
    assert await pos.submit_order(visit_order("a", 1, "visit-1", 2300), "ka") == "CHK-0001"
    assert await pos.submit_order(visit_order("b", 2, "visit-2", 500), "kb") == "CHK-0002"  # another table
    assert await pos.submit_order(visit_order("c", 3, "visit-1", 700), "kc") == "CHK-0001"
    assert await pos.submit_order(visit_order("c", 3, "visit-1", 700), "kc") == "CHK-0001"  # a retry adds nothing
    check = pos.check_of("CHK-0001")
    assert check["orders"] == [1, 3] and check["total_minor"] == 3000
    assert [ln["name"] for ln in check["lines"]] == ["Dish 1", "Dish 3"]
    assert len(file_lines(path)) == 3

    again = await SimulatorPos(path=path).load()  # what is on file makes the same checks after a restart
    assert again.check_of("CHK-0001")["orders"] == [1, 3] and len(again.checks) == 2
    assert await again.submit_order(visit_order("c", 3, "visit-1", 700), "kc") == "CHK-0001"
    assert await again.submit_order(visit_order("d", 4, "visit-1", 300), "kd") == "CHK-0001"


async def test_the_visits_payments_go_onto_its_check_and_a_closed_check_takes_no_more_orders(tmp_path):
    pos = SimulatorPos(path=tmp_path / "checks.jsonl")
    ref = await pos.submit_order(visit_order("a", 1, "visit-1", 2300), "ka")
    await pos.submit_order(visit_order("b", 2, "visit-1", 700), "kb")
    await pos.add_payment(ref, 1200, 100, "card", "pay-1:visit-1")
    await pos.add_payment(ref, 1800, 0, "cash", "pay-2:visit-1")
    assert pos.paid_on(ref) == 3000 == pos.check_of(ref)["total_minor"]
    await pos.close_check(ref)
    # coffee after paying: the paid check stays closed, the visit's new order opens a new one
    assert await pos.submit_order(visit_order("c", 3, "visit-1", 280), "kc") == "CHK-0002"
    reloaded = await SimulatorPos(path=tmp_path / "checks.jsonl").load()
    assert await reloaded.submit_order(visit_order("d", 4, "visit-1", 280), "kd") == "CHK-0002"


async def test_the_view_shows_one_row_per_visit_with_its_orders_and_payments(tmp_path, aiohttp_client):
    from drivers.pos.simulator_view import create_view_app

    path = tmp_path / "checks.jsonl"
    pos = SimulatorPos(path=path)
    ref = await pos.submit_order(visit_order("a", 1, "visit-1", 2300), "ka")
    await pos.submit_order(visit_order("b", 2, "visit-1", 700), "kb")
    await pos.add_payment(ref, 3000, 200, "card", "pay-1:visit-1")
    await pos.close_check(ref)
    page = await (await (await aiohttp_client(create_view_app(path))).get("/")).text()
    assert "1 check(s)" in page
    assert "<td>#1, #2</td>" in page and "1 x Dish 1<br>1 x Dish 2" in page
    assert "30.00 EUR" in page and "32.00 EUR" in page and ">closed<" in page  # total; paid with the tip
