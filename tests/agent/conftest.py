import pytest

from agent.app import create_app
from agent.config import from_dict
from drivers.escpos.emulator import PrinterEmulator
from tests.services import free_port


@pytest.fixture
async def emulator(tmp_path):
    printer = PrinterEmulator(out_dir=tmp_path / "tickets")
    await printer.start("127.0.0.1", 0)
    yield printer
    await printer.stop()


def make_config(tmp_path, broker_port=None, printers=(), pos=True, **sections):
    raw = {
        "agent": {"id": "test-agent", "data_dir": str(tmp_path / "agent")},
        # a closed port unless a test brings a broker: the link just keeps retrying
        "broker": {"host": "127.0.0.1", "port": broker_port or free_port()},
        "tables": [{"name": "Table 1"}, {"name": "Table 2"}],
        "printers": list(printers),
        **sections,
    }
    if pos:
        raw["pos"] = {"kind": "simulator", "options": {"path": str(tmp_path / "pos.jsonl")}}
    return from_dict(raw)


@pytest.fixture
async def agent_client(aiohttp_client, tmp_path, emulator):
    config = make_config(tmp_path, printers=[{
        "name": "kitchen", "stations": ["kitchen", "bar", "desserts"],
        "options": {"host": "127.0.0.1", "port": emulator.port}}])
    return await aiohttp_client(create_app(config))
