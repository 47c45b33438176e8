"""schemathesis against a running agent and hub, from their own descriptions: no 5xx, every
answer as described, the security headers of finding 10 on every answer, and nothing written by
a request that was refused."""

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.operations import agent_operations, hub_operations
from tests.fuzz.running import fingerprint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded and deterministic: the same examples on every run, however loaded the machine is; no
# shrinking (each shrink step is a request), so a failure shows the first example that failed.
BOUNDED = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def _fuzz(schema, method: str, path: str, db, side: str) -> None:
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @BOUNDED
    def one(case):
        before = fingerprint(db, side)
        response = case.call(timeout=30)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            assert fingerprint(db, side) == before, "a refused request wrote to the database"

    one()


@pytest.mark.parametrize(("method", "path"), agent_operations(), ids=lambda v: v)
def test_agent(agent_schema, running, method, path):
    _fuzz(agent_schema, method, path, running.agent_db, "agent")


@pytest.mark.parametrize(("method", "path"), hub_operations(), ids=lambda v: v)
def test_hub(hub_schema, running, method, path):
    _fuzz(hub_schema, method, path, running.hub_db, "hub")
