import asyncio
import socket
from datetime import datetime

import pytest

from drivers.escpos.emulator import PrinterEmulator
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket
from drivers.escpos.status import PrinterState, PrinterStatus, parse_status
from drivers.escpos.tcp import TcpPrinter
from drivers.printer import Printer, PrinterMaybePrinted, PrinterOffline

OK = {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12}


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, PrinterState.ONLINE),
        ({4: 0x12 | 0x0C}, PrinterState.PAPER_NEAR_END),
        ({4: 0x12 | 0x04}, PrinterState.PAPER_NEAR_END),
        ({1: 0x1E, 4: 0x7E}, PrinterState.PAPER_OUT),
        ({1: 0x1E, 2: 0x32}, PrinterState.PAPER_OUT),
        ({1: 0x1E, 2: 0x16}, PrinterState.COVER_OPEN),
        ({1: 0x1E, 2: 0x52}, PrinterState.ERROR),
        ({3: 0x1A}, PrinterState.ERROR),
        ({3: 0x32}, PrinterState.ERROR),
        ({3: 0x52}, PrinterState.ERROR),
        ({1: 0x1E}, PrinterState.OFFLINE),
        ({1: 0x1E, 2: 0x1A}, PrinterState.OFFLINE),
    ],
)
def test_each_state(changes, state):
    status = parse_status(OK | changes)
    assert status.state is state
    assert (status.detail == "") == (state is PrinterState.ONLINE)


def test_paper_out_wins_over_cover_open_and_offline():
    assert parse_status({1: 0x1E, 2: 0x36, 3: 0x12, 4: 0x7E}).state is PrinterState.PAPER_OUT


@pytest.mark.parametrize("bad", [0x00, 0xFF, 0x17, 0x92, 0x14, 0x02])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_garbled_byte_is_unknown(n, bad):
    assert parse_status(OK | {n: bad}) == PrinterStatus(PrinterState.UNKNOWN, "garbled status")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_missing_answer_is_unknown_never_online(n):
    missing = {k: v for k, v in OK.items() if k != n}
    assert parse_status(missing).state is PrinterState.UNKNOWN
    assert parse_status(OK | {n: None}).state is PrinterState.UNKNOWN
    assert f"DLE EOT {n}" in parse_status(missing).detail


def test_state_is_a_string():
    assert PrinterState.PAPER_OUT == "paper_out" and PrinterState.ONLINE == "online"


def test_default_printer_status_is_unknown_one_way():
    class OneWay(Printer):
        def send(self, data: bytes) -> None:
            pass

    assert OneWay().status() == PrinterStatus(PrinterState.UNKNOWN, "this connection is one-way")


def job(number: int = 1) -> bytes:
    return render_kitchen_ticket(KitchenTicket("Table 4", number, datetime(2024, 3, 1, 12, 0), [TicketLine(1, "Soup")]))


@pytest.fixture
async def emulator():
    emu = PrinterEmulator()
    await emu.start()
    yield emu
    await emu.stop()


def printer_for(emu: PrinterEmulator, **options) -> TcpPrinter:
    return TcpPrinter(host="127.0.0.1", port=emu.port, timeout=2, status_timeout=0.3, **options)


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        (None, PrinterState.ONLINE),
        ("paper_out", PrinterState.PAPER_OUT),
        ("cover_open", PrinterState.COVER_OPEN),
        ("paper_near_end", PrinterState.PAPER_NEAR_END),
        ("offline", PrinterState.OFFLINE),
        ("slow", PrinterState.UNKNOWN),
        ("drop_mid_ticket", PrinterState.ONLINE),
    ],
)
async def test_tcp_status_in_each_fault(emulator, fault, state):
    emulator.fault = fault
    emulator.slow_seconds = 1.0
    status = await asyncio.to_thread(printer_for(emulator).status)
    assert status.state is state


async def test_fault_can_change_while_running(emulator):
    printer = printer_for(emulator)
    assert (await asyncio.to_thread(printer.status)).state is PrinterState.ONLINE
    emulator.fault = "paper_out"
    assert (await asyncio.to_thread(printer.status)).state is PrinterState.PAPER_OUT
    emulator.fault = None
    assert (await asyncio.to_thread(printer.status)).state is PrinterState.ONLINE


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="jammed"):
        PrinterEmulator().fault = "jammed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_status_of_closed_port_is_offline():
    status = TcpPrinter(host="127.0.0.1", port=free_port(), timeout=1).status()
    assert status.state is PrinterState.OFFLINE and "refused" in status.detail


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "offline"])
async def test_send_to_a_printer_that_cannot_print_raises_and_prints_nothing(emulator, fault):
    emulator.fault = fault
    with pytest.raises(PrinterOffline, match=f"127.0.0.1:{emulator.port}"):
        await asyncio.to_thread(printer_for(emulator).send, job())
    emulator.fault = None
    await asyncio.to_thread(printer_for(emulator).send, job(2))
    [ticket] = await emulator.wait_for_tickets(1)
    assert "Order #2" in ticket and emulator.incomplete == []


@pytest.mark.parametrize("fault", [None, "paper_near_end"])
async def test_send_answers_how_the_printer_is_once_it_took_the_job(emulator, fault):
    """What the agent shows for the printer the moment a ticket prints, without waiting for a poll."""
    emulator.fault = fault
    status = await asyncio.to_thread(printer_for(emulator).send, job(6))
    assert status == await asyncio.to_thread(printer_for(emulator).status)
    assert status.state is (PrinterState.PAPER_NEAR_END if fault else PrinterState.ONLINE)
    assert await asyncio.to_thread(printer_for(emulator, check_status=False).send, job(7)) is None  # never asked


@pytest.mark.parametrize(("fault", "state"), [("paper_out", PrinterState.PAPER_OUT),
                                              ("cover_open", PrinterState.COVER_OPEN)])
async def test_a_refused_job_carries_what_the_printer_said(emulator, fault, state):
    emulator.fault = fault
    with pytest.raises(PrinterOffline) as refused:
        await asyncio.to_thread(printer_for(emulator).send, job())
    assert refused.value.status.state is state


async def test_paper_out_discards_a_job_sent_without_asking(emulator):
    emulator.fault = "paper_out"
    await asyncio.to_thread(printer_for(emulator, check_status=False).send, job())
    await asyncio.sleep(0.1)
    assert emulator.tickets == [] and emulator.incomplete == []


async def test_drop_mid_ticket_raises_and_keeps_only_an_incomplete_ticket(emulator):
    emulator.fault = "drop_mid_ticket"
    with pytest.raises(PrinterMaybePrinted, match="partly printed"):
        await asyncio.to_thread(printer_for(emulator).send, job(5))
    await asyncio.sleep(0.1)
    assert emulator.tickets == []
    [partial] = emulator.incomplete
    assert "Table 4" in partial and "Soup" not in partial


async def test_slow_printer_still_gets_the_job(emulator):
    emulator.fault = "slow"
    emulator.slow_seconds = 0.2
    await asyncio.to_thread(printer_for(emulator).send, job(3))
    [ticket] = await emulator.wait_for_tickets(1)
    assert "Order #3" in ticket


async def test_printer_that_never_answers_status_still_gets_the_job():
    async def silent(reader, writer):
        received.extend(await reader.read())
        writer.close()

    received = bytearray()
    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        said = await asyncio.to_thread(TcpPrinter(host="127.0.0.1", port=port, status_timeout=0.2).send, job(9))
    finally:
        server.close()
        await server.wait_closed()
    assert job(9) in bytes(received)
    assert said is None  # it said nothing, so nothing is claimed about it
