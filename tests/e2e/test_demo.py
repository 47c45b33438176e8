"""`tableside demo`: one command brings the whole system up; data survives a restart; Ctrl-C
stops everything cleanly; two demos run side by side."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid

import aiohttp

from tableside.demo import DemoOptions, run_demo
from tests.waiting import eventually


@contextlib.asynccontextmanager
async def demo(data_dir):
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_demo(DemoOptions(data_dir, agent_port=0, hub_port=0, broker_port=0),
                                        ready=ready, stop=stop))
    done, _ = await asyncio.wait([task, asyncio.create_task(ready.wait())], timeout=30,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # start-up failed: show why
    assert ready.is_set(), "demo did not start in 30 s"
    try:
        yield json.loads((data_dir / "demo.json").read_text())
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_demo_takes_an_order_end_to_end_and_keeps_data(tmp_path, capsys):
    async with demo(tmp_path) as info, aiohttp.ClientSession() as http:
        assert len(info["tables"]) >= 2 and info["operator_token"]
        assert "Table 1" in capsys.readouterr().out
        table = info["tables"][0]
        async with http.post(f"{info['agent_url']}/api/v1/tables/{table['token']}/orders",
                             json={"lines": [{"item_id": "onion-soup", "qty": 2}, {"item_id": "espresso", "qty": 1,
                                                                                     "modifiers": []}]},
                             headers={"Idempotency-Key": str(uuid.uuid4())}) as resp:
            body = await resp.json()
            assert resp.status == 201, body
            order = body["order"]

        async def at_hub():
            async with http.get(f"{info['hub_url']}/api/v1/orders/{order['id']}",
                                headers={"Authorization": f"Bearer {info['operator_token']}"}) as r:
                return r.status == 200

        await eventually(at_hub, within=15, what="order at the hub")
        # soup goes to the kitchen printer, the espresso to the bar's
        kitchen = await eventually(lambda: list((tmp_path / "tickets" / "kitchen").glob("*.txt")), what="kitchen ticket")
        bar = await eventually(lambda: list((tmp_path / "tickets" / "bar").glob("*.txt")), what="bar ticket")
        assert "2 x French onion soup" in kitchen[0].read_text() and "Espresso" not in kitchen[0].read_text()
        assert "1 x Espresso" in bar[0].read_text()

        async def at_pos():  # the simulator POS's own page shows the check
            async with http.get(info["pos_url"]) as r:
                text = await r.text()
                return f"#{order['number']}" in text and "French onion soup" in text

        await eventually(at_pos, what="check on the simulator POS page")

        sign_in = info["staff_sign_in"]  # the demo's manager can sign in with what demo.json says
        async with http.post(f"{info['agent_url']}/api/v1/staff/session",
                             json={"name": sign_in["name"], "secret": sign_in["pin"]}) as resp:
            assert resp.status == 200 and (await resp.json())["staff"]["role"] == "manager"

    async with demo(tmp_path) as again, aiohttp.ClientSession() as http:
        assert [t["token"] for t in again["tables"]] == [t["token"] for t in info["tables"]]
        assert again["operator_token"] == info["operator_token"]
        assert again["staff_sign_in"] == info["staff_sign_in"]
        async with http.get(f"{again['agent_url']}/api/v1/tables/{table['token']}/orders/{order['id']}") as resp:
            assert resp.status == 200 and (await resp.json())["order"]["total_minor"] == order["total_minor"]


async def test_two_demos_side_by_side(tmp_path):
    async with demo(tmp_path / "a") as a, demo(tmp_path / "b") as b:
        assert a["agent_url"] != b["agent_url"] and a["hub_url"] != b["hub_url"]
        async with aiohttp.ClientSession() as http:
            for info in (a, b):
                async with http.get(f"{info['agent_url']}/api/v1/menu") as resp:
                    assert resp.status == 200


def test_ctrl_c_stops_the_demo_cleanly(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tableside.cli", "demo", "--data-dir", str(tmp_path), "--agent-port", "0",
         "--hub-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in proc.stdout:
            if "demo.json" in line:
                break
        assert (tmp_path / "demo.json").exists()
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # dump every thread's stack to show where it hangs
            proc.kill()
            raise AssertionError("demo did not stop within 20 s:\n" + proc.communicate()[0][-6000:]) from None
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Tableside demo stopped." in out and "Traceback" not in out
