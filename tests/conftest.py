import os

# Every JSON success a handler answers is checked against what it declares (contract/openapi.py),
# in this process and in the agents and hubs the tests start as processes.
os.environ["TABLESIDE_CHECK_ANSWERS"] = "1"

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from agent.app import create_app  # noqa: E402
from drivers.escpos.emulator import PrinterEmulator  # noqa: E402
from tests.agent.helpers import make_config  # noqa: E402
from tests.services import mosquitto  # noqa: E402

# Hypothesis's per-example deadline (200 ms) measures how loaded the machine is, not the code: on a
# busy machine one ledger example took 288 ms and the run failed. Wrong answers still fail.
settings.register_profile("tableside", deadline=None)
settings.load_profile("tableside")


@pytest.fixture
def broker():
    """A private Mosquitto on a free loopback port (tests may stop and start it)."""
    with mosquitto() as b:
        yield b


@pytest.fixture
async def emulator(tmp_path):
    """A network ESC/POS printer emulator on a free port, tickets under tmp_path/tickets."""
    printer = PrinterEmulator(out_dir=tmp_path / "tickets")
    await printer.start("127.0.0.1", 0)
    yield printer
    await printer.stop()


@pytest.fixture
async def agent_client(aiohttp_client, tmp_path, emulator):
    """An agent with the sample menu, one printer (the emulator) and the demo POS."""
    config = make_config(tmp_path, printers=[{
        "name": "kitchen", "stations": ["kitchen", "bar", "desserts"],
        "options": {"host": "127.0.0.1", "port": emulator.port}}])
    return await aiohttp_client(create_app(config))
