"""schemathesis against a running agent and hub, from their own descriptions: no 5xx, every
answer as described, the security headers of finding 10 on every answer, and nothing written by
a request that was refused."""

from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.web.security_headers import CSP
from hub.web.html import PAGE_HEADERS
from tests.fuzz.operations import agent_operations, hub_operations
from tests.fuzz.running import fingerprint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Bounded and deterministic: the same examples on every run, however loaded the machine is; no
# shrinking (each shrink step is a request), so a failure shows the first example that failed.
BOUNDED = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def _headers(response) -> dict[str, str]:
    return {name.lower(): values[0] for name, values in response.headers.items()}  # schemathesis keeps lists


def agent_headers(response) -> None:
    """Finding 10 on the agent: nosniff on everything, pages unframeable under the CSP, API answers
    private unless the handler chose its own caching."""
    headers = _headers(response)
    assert headers.get("x-content-type-options") == "nosniff", "no X-Content-Type-Options: nosniff"
    if headers.get("content-type", "").startswith("text/html"):
        assert headers.get("content-security-policy") == CSP and headers.get("x-frame-options") == "DENY"
        assert headers.get("referrer-policy") == "no-referrer"
    elif urlsplit(response.request.url).path.startswith("/api/"):
        assert headers.get("cache-control"), "an API answer without Cache-Control (no-store by default)"


def hub_headers(response) -> None:
    """Finding 10 on the hub: its pay and onboarding pages are never framed, sniffed or stored."""
    headers = _headers(response)
    if headers.get("content-type", "").startswith("text/html"):
        for name, value in PAGE_HEADERS.items():
            assert headers.get(name.lower()) == value, f"a hub page without {name}: {value}"


def _fuzz(schema, method: str, path: str, db, side: str, headers_check, cross_site_origin=None) -> None:
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @BOUNDED
    def one(case):
        if cross_site_origin and method != "GET":
            # the same change from another site's page: refused, and nothing written
            before = fingerprint(db, side)
            refused = case.call(timeout=30, headers={"Origin": cross_site_origin})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site", refused.text
            assert fingerprint(db, side) == before, "a cross-site request wrote to the database"
        before = fingerprint(db, side)
        response = case.call(timeout=30)
        case.validate_response(response, checks=CHECKS)
        headers_check(response)
        if response.status_code >= 400:
            assert fingerprint(db, side) == before, "a refused request wrote to the database"

    one()


@pytest.mark.parametrize(("method", "path"), agent_operations(), ids=lambda v: v)
def test_agent(agent_schema, running, method, path):
    _fuzz(agent_schema, method, path, running.agent_db, "agent", agent_headers,
          cross_site_origin="http://evil.example")


@pytest.mark.parametrize(("method", "path"), hub_operations(), ids=lambda v: v)
def test_hub(hub_schema, running, method, path):
    _fuzz(hub_schema, method, path, running.hub_db, "hub", hub_headers)
