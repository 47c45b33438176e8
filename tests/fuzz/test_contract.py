"""schemathesis against a running agent and hub, from their own descriptions: no 5xx, every
answer as described, the security headers of finding 10 on every answer, and nothing written by
a request that was refused."""

from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.web.security_headers import CSP
from hub.web.html import PAGE_HEADERS
from tests.fuzz.operations import SIGN_OUT, STREAMS, agent_operations, hub_operations
from tests.fuzz.running import fingerprint

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Bounded and deterministic: the same examples on every run, however loaded the machine is; no
# shrinking (each shrink step is a request), so a failure shows the first example that failed.
BOUNDED = settings(max_examples=30, deadline=None, derandomize=True, database=None,
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


def _fuzz(schema, method: str, path: str, db, side: str, headers_check, cross_site_origin=None,
          known: dict | None = None, answers=None) -> None:
    operation = schema[path][method]
    # what the description allows, and what it does not (wrong types, missing fields): both must be
    # answered as described, never with a 5xx
    cases = st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE))
    fixed = {name: value for name, value in (known or {}).items() if f"{{{name}}}" in path}
    if fixed:
        cases = st.one_of(cases, operation.as_strategy(path_parameters=fixed))

    @given(case=cases)
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
        answers[(side, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)
        headers_check(response)
        if response.status_code >= 400:
            assert fingerprint(db, side) == before, "a refused request wrote to the database"

    one()


@pytest.mark.parametrize(("method", "path"), agent_operations(), ids=lambda v: v)
def test_agent(agent_schema, running, method, path):
    _fuzz(agent_schema, method, path, running.agent_db, "agent", agent_headers,
          cross_site_origin="http://evil.example", known=running.known, answers=running.answers)


@pytest.mark.parametrize(("method", "path"), hub_operations(), ids=lambda v: v)
def test_hub(hub_schema, hub, running, method, path):
    _fuzz(hub_schema, method, path, hub.db, "hub", hub_headers, answers=running.answers)


# The agent's pages are not in its API description; the same run asks for each with a real and a
# made-up table token (and visit key), signed in and not, and checks finding 10's page headers on
# every answer.
PAGES = ["/", "/t", "/t/back", "/t/{table_token}", "/t/{table_token}/manifest.webmanifest", "/staff",
         "/staff/tables/cards", "/receipt/{visit_key}"]


@pytest.mark.parametrize("page", PAGES)
def test_agent_pages_carry_the_headers(running, page):
    real = {"table_token": running.known["table_token"], "visit_key": running.known["visit_key"]}
    for names in (real, {"table_token": "not-a-table", "visit_key": "not-a-visit-key"}):
        for cookies in ({}, {"tableside_staff": running.staff_cookie}):
            resp = requests.get(running.agent_url + page.format(**names), cookies=cookies,
                                timeout=30, allow_redirects=False)
            assert resp.status_code < 500, (page, resp.status_code)
            if names is real and page == "/receipt/{visit_key}":
                assert resp.status_code == 200 and "Receipt" in resp.text
            assert resp.headers.get("X-Content-Type-Options") == "nosniff", page
            if resp.headers.get("Content-Type", "").startswith("text/html"):
                assert resp.headers.get("Content-Security-Policy") == CSP, page
                assert resp.headers.get("X-Frame-Options") == "DENY", page


@pytest.mark.parametrize("path", sorted(p for _, p in STREAMS))
def test_event_streams(running, path):
    """The streams a fuzzer cannot wait out: refused without a real table or session, and open with
    one, as text/event-stream, never cached or sniffed."""
    url = running.agent_url + path
    refused = requests.get(url.format(table_token="not-a-table"), timeout=30)
    assert refused.status_code in (401, 404) and refused.json()["error"]["code"]
    with requests.get(url.format(table_token=running.known["table_token"]), stream=True, timeout=30,
                      cookies={"tableside_staff": running.staff_cookie}) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert resp.headers.get("X-Content-Type-Options") == "nosniff" and resp.headers.get("Cache-Control")


def test_sign_out_last(running, agent_schema):
    """Signing out, last in this file (pytest keeps a file's order) because it ends the session the
    other cases use: a cross-site or token-less sign-out is refused and changes nothing; the real
    one ends the session."""
    url = f"{running.agent_url}{SIGN_OUT[1]}"
    cookies = {"tableside_staff": running.staff_cookie}
    before = fingerprint(running.agent_db, "agent")
    for headers in ({"Origin": "http://evil.example", "X-CSRF-Token": running.csrf_token}, {}):
        resp = requests.delete(url, cookies=cookies, headers=headers, timeout=30)
        assert resp.status_code == 403, resp.text
        assert fingerprint(running.agent_db, "agent") == before
    resp = requests.delete(url, cookies=cookies, headers={"X-CSRF-Token": running.csrf_token}, timeout=30)
    assert resp.status_code == 200
    assert requests.get(url, cookies=cookies, timeout=30).status_code == 401
