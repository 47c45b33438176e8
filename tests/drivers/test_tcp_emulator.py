import asyncio
import socket
from datetime import datetime

import pytest

from drivers.escpos.emulator import PrinterEmulator
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket
from drivers.escpos.tcp import TcpPrinter
from drivers.printer import PrinterOffline


def job(number: int) -> bytes:
    return render_kitchen_ticket(
        KitchenTicket("Table 4", number, datetime(2024, 3, 1, 12, 0), [TicketLine(2, "Margherita", ["Extra cheese"], "no onions")])
    )


@pytest.fixture
async def emulator(tmp_path):
    emu = PrinterEmulator(tmp_path / "tickets")
    await emu.start()
    yield emu
    await emu.stop()


async def test_ticket_arrives_and_is_written(emulator, tmp_path):
    printer = TcpPrinter(host="127.0.0.1", port=emulator.port, timeout=2)
    await asyncio.to_thread(printer.send, job(1))
    [text] = await emulator.wait_for_tickets(1, timeout=5)
    assert "Order #1" in text and "2 x Margherita" in text and "  ! no onions" in text
    path = tmp_path / "tickets" / "ticket-0001.txt"
    assert path.read_text(encoding="utf-8") == text


async def test_two_tickets_in_one_job_and_another_job(emulator, tmp_path):
    printer = TcpPrinter(host="127.0.0.1", port=emulator.port)
    await asyncio.to_thread(printer.send, job(1) + job(2))
    await asyncio.to_thread(printer.send, job(3))
    tickets = await emulator.wait_for_tickets(3)
    assert ["Order #1" in tickets[0], "Order #2" in tickets[1], "Order #3" in tickets[2]] == [True] * 3
    assert sorted(p.name for p in (tmp_path / "tickets").iterdir()) == [f"ticket-000{n}.txt" for n in (1, 2, 3)]


async def test_numbering_continues_after_restart(tmp_path):
    out = tmp_path / "tickets"
    for number in (1, 2):
        emu = PrinterEmulator(out)
        await emu.start()
        try:
            await asyncio.to_thread(TcpPrinter(host="127.0.0.1", port=emu.port).send, job(number))
            await emu.wait_for_tickets(1)
        finally:
            await emu.stop()
    assert "Order #1" in (out / "ticket-0001.txt").read_text(encoding="utf-8")
    assert "Order #2" in (out / "ticket-0002.txt").read_text(encoding="utf-8")


async def test_job_without_cut_is_not_a_ticket(emulator):
    await asyncio.to_thread(TcpPrinter(host="127.0.0.1", port=emulator.port).send, b"\x1b@half a ticket\n")
    await asyncio.to_thread(TcpPrinter(host="127.0.0.1", port=emulator.port).send, job(7))
    [text] = await emulator.wait_for_tickets(1)
    assert "half" not in text
    assert emulator.incomplete == ["half a ticket\n"]


async def test_wait_for_tickets_times_out(emulator):
    with pytest.raises(TimeoutError):
        await emulator.wait_for_tickets(1, timeout=0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_closed_port_raises_offline_naming_host_and_port():
    port = free_port()
    printer = TcpPrinter(host="127.0.0.1", port=port, timeout=2)
    with pytest.raises(PrinterOffline, match=f"127.0.0.1:{port}.*switched on"):
        printer.send(job(1))


def test_unknown_option_is_refused():
    with pytest.raises(TypeError, match="tiemout"):
        TcpPrinter(host="printer.local", tiemout=3)


def test_describe_names_the_address():
    assert "10.0.0.5:9100" in TcpPrinter(host="10.0.0.5").describe()


async def test_status_request_answered_on_raw_socket(emulator):
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    try:
        for n, expected in [(1, 0x16), (2, 0x12), (3, 0x12), (4, 0x12)]:
            writer.write(bytes([0x10, 0x04, n]))
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(1), 2) == bytes([expected])
    finally:
        writer.close()
        await writer.wait_closed()
    assert emulator.tickets == []


async def test_a_printer_that_goes_out_of_paper_while_taking_the_job_is_not_counted_as_printed():
    """Online at the pre-check, out of paper by the time the job is in (seen by the chaos suite):
    the job may not be on paper, so the driver says so instead of reporting success."""
    from drivers.escpos.emulator import STATUS_FAULTS, STATUS_ONLINE
    from drivers.escpos.status import status_request
    from drivers.printer import PrinterMaybePrinted

    async def serve(reader, writer):
        for n in (1, 2, 3, 4):  # the pre-check: all well
            assert await reader.readexactly(3) == status_request(n)
            writer.write(bytes([STATUS_ONLINE[n]]))
            await writer.drain()
        data = await reader.read(65536)
        while not data.endswith(status_request(1)):
            data += await reader.read(65536)
        writer.write(bytes([STATUS_FAULTS["paper_out"][1]]))  # the roll ran out meanwhile
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        printer = TcpPrinter(host="127.0.0.1", port=port, timeout=3)
        with pytest.raises(PrinterMaybePrinted, match="went offline while taking the job") as failed:
            await asyncio.to_thread(printer.send, b"\x1b@hello\n\x1dV\x00")
        assert failed.value.status.state == "offline"  # what the agent shows until it asks again
    finally:
        server.close()
        await server.wait_closed()


async def test_a_slow_printer_that_drops_the_job_is_not_counted_as_printed(emulator):
    """Chaos seed 978759255: a slow printer misses the pre-check's deadline, then goes offline and
    throws the job away. The driver used to count that as printed; the ticket was lost."""
    from drivers.printer import PrinterMaybePrinted

    printer = TcpPrinter(host="127.0.0.1", port=emulator.port, timeout=3, status_timeout=0.2)
    await asyncio.to_thread(printer.send, job(1))  # a healthy job: the driver learns it answers status
    await emulator.wait_for_tickets(1)
    emulator.slow_seconds = 1.0
    emulator.fault = "slow"

    async def unplug_while_it_dawdles():
        await asyncio.sleep(0.5)
        emulator.fault = "offline"

    unplug = asyncio.create_task(unplug_while_it_dawdles())
    with pytest.raises(PrinterMaybePrinted, match="hung up"):
        await asyncio.to_thread(printer.send, job(2))
    await unplug
    assert len(emulator.tickets) == 1


async def test_a_slow_printer_that_prints_late_is_counted_once(emulator):
    printer = TcpPrinter(host="127.0.0.1", port=emulator.port, timeout=3, status_timeout=0.2)
    await asyncio.to_thread(printer.send, job(1))
    emulator.slow_seconds = 0.6  # misses status_timeout, well inside timeout
    emulator.fault = "slow"
    await asyncio.to_thread(printer.send, job(2))
    tickets = await emulator.wait_for_tickets(2)
    assert "Order #2" in tickets[1] and len(tickets) == 2


async def _printer_server(handle):
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_printer_that_answered_before_and_falls_silent_mid_job_is_not_counted_as_printed():
    from drivers.escpos.emulator import STATUS_ONLINE
    from drivers.printer import PrinterMaybePrinted

    jobs = 0

    async def answers_then_freezes(reader, writer):
        nonlocal jobs
        jobs += 1
        for n in (1, 2, 3, 4):
            await reader.readexactly(3)
            writer.write(bytes([STATUS_ONLINE[n]]))
            await writer.drain()
        if jobs == 1:  # the first job is answered; the second never is, yet the line stays up
            data = b""
            while not data.endswith(b"\x10\x04\x01"):
                data += await reader.read(65536)
            writer.write(bytes([STATUS_ONLINE[1]]))
            await writer.drain()
        await reader.read()
        writer.close()

    server, port = await _printer_server(answers_then_freezes)
    try:
        printer = TcpPrinter(host="127.0.0.1", port=port, timeout=0.5, status_timeout=0.2)
        await asyncio.to_thread(printer.send, job(1))
        with pytest.raises(PrinterMaybePrinted, match="stopped answering"):
            await asyncio.to_thread(printer.send, job(2))
    finally:
        server.close()
        await server.wait_closed()


async def test_a_printer_that_never_answers_status_but_hangs_up_on_the_job_is_not_counted_as_printed():
    from drivers.printer import PrinterMaybePrinted

    async def swallows_and_hangs_up(reader, writer):
        await reader.readexactly(3)  # the pre-check, unanswered
        await reader.read(65536)  # some of the job, then gone
        writer.close()

    server, port = await _printer_server(swallows_and_hangs_up)
    try:
        printer = TcpPrinter(host="127.0.0.1", port=port, timeout=2, status_timeout=0.3)
        with pytest.raises(PrinterMaybePrinted, match="hung up"):
            await asyncio.to_thread(printer.send, job(3))
    finally:
        server.close()
        await server.wait_closed()
