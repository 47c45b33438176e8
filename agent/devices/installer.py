"""What an installer asks on site: which printers are there, does each one print, does the POS
answer. Used by `tableside printer list|test` and `tableside pos check`."""

import asyncio
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.config import AgentConfig
from agent.devices.device import build_printers
from drivers.escpos.serial import discover_serial
from drivers.escpos.usb import discover_usb
from drivers.registry import load_pos

RAW_PRINT_PORT = 9100


@dataclass(frozen=True)
class Found:
    where: str  # "configured", "serial", "usb", "network"
    name: str
    detail: str


def _answers_on_9100(host: str, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, RAW_PRINT_PORT), timeout=timeout):
            return True
    except OSError:
        return False


async def list_printers(config: AgentConfig, hosts: list[str]) -> list[Found]:
    """Configured printers with their status, then serial ports, USB printers, and the given
    hosts that accept raw printing on TCP 9100. No subnet sweep: an installer names the hosts."""
    found = []
    for name, device in build_printers(config).items():
        status = await device.status()
        found.append(Found("configured", name, f"{device.printer.describe()}: {status.state.value}"
                                               + (f" ({status.detail})" if status.detail else "")))
    found += [Found("serial", port, "serial port") for port in await asyncio.to_thread(discover_serial)]
    found += [Found("usb", dev, "USB printer device") for dev in await asyncio.to_thread(discover_usb)]
    for host in hosts:
        if await asyncio.to_thread(_answers_on_9100, host):
            found.append(Found("network", f"{host}:{RAW_PRINT_PORT}", "accepts raw printing (escpos-tcp)"))
    return found


async def test_print(config: AgentConfig, name: str) -> tuple[str, str]:
    """Print a test ticket on the named printer; (status before, status after). Raises what the
    driver raises, so the installer sees the driver's own advice."""
    printers = build_printers(config)
    if name not in printers:
        raise LookupError(f"no printer named {name!r}; configured printers: {', '.join(printers) or 'none'}")
    device = printers[name]
    stations = next(p.stations for p in config.printers if p.name == name)
    before = await device.status()
    await device.deliver("kitchen_ticket", {
        "table_name": "TEST PAGE", "order_number": 0, "placed_at": datetime.now(UTC).isoformat(),
        "lines": [{"qty": 1, "name": f"{name} prints for: {', '.join(stations)}",
                   "modifiers": ["Crème brûlée, Größe, €"], "note": "If you can read this, printing works."}]})
    after = await device.status()
    return f"{before.state.value} {before.detail}".strip(), f"{after.state.value} {after.detail}".strip()


async def check_pos(config: AgentConfig) -> str:
    if config.pos is None:
        raise LookupError("no [pos] section in the configuration")
    pos = load_pos(config.pos.kind, **config.pos.options)
    try:
        return await pos.check()
    finally:
        await pos.close()
