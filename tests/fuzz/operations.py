"""The operations each side describes, listed at collection time (one pytest test each) from the
same describe() the running servers answer /api/v1/openapi.json with."""

import tempfile
from pathlib import Path

from agent.app import create_app as create_agent_app
from agent.web import openapi as agent_openapi
from hub.app import create_app as create_hub_app
from hub.config import HubConfig
from hub.web import openapi as hub_openapi
from tests.agent.helpers import make_config
from tests.agent.staff.helpers import with_staff_routes

# Streams that never end (server-sent events): a fuzzer waiting for the body would wait forever.
# Their refusals and headers are checked in test_contract.py::test_event_streams.
STREAMS = {("GET", "/api/v1/tables/{table_token}/events"), ("GET", "/api/v1/staff/events")}
# Signing out would end the session every other staff case is sent with; it is checked last, alone.
SIGN_OUT = ("DELETE", "/api/v1/staff/session")


def _listed(doc: dict, leave_out=frozenset()) -> list[tuple[str, str]]:
    ops = [(m.upper(), p) for p, methods in doc["paths"].items() for m in methods]
    return [op for op in ops if op not in leave_out]


def agent_operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:  # create_app touches no disk before start-up
        app = with_staff_routes(create_agent_app(make_config(Path(tmp))))
        return _listed(agent_openapi.describe(app), STREAMS | {SIGN_OUT})


def hub_operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_hub_app(HubConfig(data_dir=Path(tmp), operator_token="x" * 32, broker_port=1))
        return _listed(hub_openapi.describe(app))
