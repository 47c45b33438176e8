"""The running agent and hub the fuzz tests share, and their descriptions loaded by schemathesis
with the credentials each route needs (what the run checks: docs/security.md, "The contract, fuzzed")."""

from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis

# schemathesis imports its OpenAPI support lazily, at the first schema loaded. Under pytest's
# assertion rewriting, compiling that module deep inside a fixture's stack once hit CPython 3.11's
# "AST constructor recursion depth mismatch"; importing it here, at collection, keeps it shallow.
import schemathesis.specs.openapi.schemas  # noqa: F401

from tests.fuzz.running import OPERATOR_TOKEN, Running
from tests.services import postgres_schema

ANSWERS = pytest.StashKey[Counter]()


@pytest.fixture(scope="session")
def running(tmp_path_factory, request):
    servers = Running(tmp_path_factory.mktemp("fuzz")).start()
    request.config.stash[ANSWERS] = servers.answers
    yield servers
    servers.stop()


def pytest_terminal_summary(terminalreporter, config):
    """How many cases each side answered with each status: that the fuzz reached the handlers."""
    answers = config.stash.get(ANSWERS, None)
    if answers:
        line = ", ".join(f"{side} {status}: {n}" for (side, status), n in sorted(answers.items()))
        terminalreporter.write_line(f"fuzzed cases by answer ({sum(answers.values())}): {line}")


def _config(auth: dict, headers: dict | None = None) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "auth": {"openapi": auth},
        "headers": headers or {},
        # the fuzzing phase only, bounded and derandomised: the same cases every run (see the tests)
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False},
                   "stateful": {"enabled": False}},
    })


@pytest.fixture(scope="session")
def agent_schema(running):
    # a staff tablet: its session cookie, its CSRF token, and its own page's Origin on every change
    config = _config({"staffSession": {"api_key": running.staff_cookie},
                      "csrfToken": {"api_key": running.csrf_token}},
                     headers={"Origin": running.agent_url})
    return schemathesis.openapi.from_url(f"{running.agent_url}/api/v1/openapi.json", config=config)


@dataclass(frozen=True)
class FuzzedHub:
    url: str
    db: str  # its database's URL, for fingerprints


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def hub(running, request):
    """The hub fuzzed on each database it runs on: the agent's own (SQLite), and one on PostgreSQL."""
    if request.param == "sqlite":
        yield FuzzedHub(running.hub_url, running.hub_db)
        return
    with postgres_schema() as database_url:
        try:
            yield FuzzedHub(running.add_hub(database_url), database_url)
        finally:
            running.stop_hub(database_url)  # before its schema is dropped


@pytest.fixture(scope="session")
def hub_schema(hub):
    config = _config({"operator": {"bearer": OPERATOR_TOKEN}})
    return schemathesis.openapi.from_url(f"{hub.url}/api/v1/openapi.json", config=config)
