"""A device's state follows what it said last: the status poll, and the answer the driver reads as
each job goes out. A printer that printed is never shown as out of paper until the next poll."""

from agent.app import create_app
from agent.devices.dispatch import DeviceHealth
from agent.devices.feed import state_of
from agent.state import STATE
from drivers.escpos.status import PrinterState, PrinterStatus
from tests.agent.helpers import count, make_config, place, table_tokens
from tests.waiting import eventually

STEAK = {"item_id": "steak-frites", "qty": 1, "modifiers": ["doneness-rare"]}
PAPER_OUT = PrinterStatus(PrinterState.PAPER_OUT, "out of paper: load a new roll")


async def _kitchen_client(aiohttp_client, tmp_path, emulator):
    # no second poll within the test: whatever changes the state is the jobs' own answers
    config = make_config(tmp_path, pos=False, dispatch={"status_interval": 3600}, printers=[
        {"name": "kitchen", "stations": ["kitchen"], "options": {"host": "127.0.0.1", "port": emulator.port}}])
    return await aiohttp_client(create_app(config))


async def _jobs_done(client, n):
    return await count(client, "SELECT COUNT(*) FROM device_jobs WHERE status = 'done'") == n


async def _kitchen_on_healthz(client):
    return (await (await client.get("/healthz")).json())["devices"]["kitchen"]


async def test_a_printer_that_prints_after_paper_out_is_shown_as_it_answered_at_once(aiohttp_client, tmp_path,
                                                                                     emulator):
    """Seen in CI: the roll was changed and the ticket printed, yet the Devices screen and the hub
    said paper out until the next poll."""
    emulator.fault = "paper_out"
    client = await _kitchen_client(aiohttp_client, tmp_path, emulator)
    health = client.app[STATE].dispatcher.health["kitchen"]
    await eventually(lambda: health.status == "paper_out", what="the poll at start says paper out")

    emulator.fault = None
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [STEAK])).status == 201
    await emulator.wait_for_tickets(1)
    await eventually(lambda: _jobs_done(client, 1), what="the ticket is done")
    kitchen = await _kitchen_on_healthz(client)
    assert (kitchen["state"], kitchen["status"]) == ("ok", "online")
    assert state_of(health) == ("online", "")  # what the hub is told


async def test_a_refused_job_shows_why_at_once_and_the_next_print_clears_it(aiohttp_client, tmp_path, emulator):
    client = await _kitchen_client(aiohttp_client, tmp_path, emulator)
    state = client.app[STATE]
    health = state.dispatcher.health["kitchen"]
    await eventually(lambda: health.status == "online", what="the poll at start says online")

    emulator.fault = "paper_out"
    token = (await table_tokens(client))["Table 1"]
    assert (await place(client, token, [STEAK])).status == 201
    await eventually(lambda: health.failures > 0, what="the ticket is refused")
    assert state_of(health) == ("paper_out", PAPER_OUT.detail)
    assert (await _kitchen_on_healthz(client))["status"] == "paper_out"

    emulator.fault = None
    state.dispatcher.wake("kitchen")
    await eventually(lambda: _jobs_done(client, 1), within=40, what="the ticket prints once the roll is in")
    assert state_of(health) == ("online", "") and health.failures == 0


def test_an_answer_to_an_older_question_does_not_undo_a_newer_one():
    health = DeviceHealth()
    health.delivered(PrinterStatus(PrinterState.ONLINE), asked_at=2.0)
    health.said(PAPER_OUT, asked_at=1.0)  # a poll begun before the job, answered after it
    assert health.status == "online"
    health.said(PAPER_OUT, asked_at=3.0)
    assert (health.status, health.status_detail) == ("paper_out", PAPER_OUT.detail)


def test_a_job_through_a_driver_that_says_nothing_still_clears_a_cannot_print_state():
    health = DeviceHealth()
    health.said(PAPER_OUT, asked_at=1.0)
    health.failed("PrinterOffline: out of paper")
    health.delivered(None, asked_at=2.0)
    assert state_of(health) == ("ok", "") and health.failures == 0
    health.said(PrinterStatus(PrinterState.PAPER_NEAR_END, "nearly used up"), asked_at=3.0)
    health.delivered(None, asked_at=4.0)  # good news is kept: it still prints
    assert health.status == "paper_near_end"
