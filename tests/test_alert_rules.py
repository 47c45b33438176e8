"""The shipped alert rules: promtool accepts them, and their unit tests (input series, expected
alerts at given times: tests/prometheus_rules/) pass, so the main alerts fire when they should and
stay quiet when they should."""

from pathlib import Path

import pytest

from tests.prometheus import RULES, check_rules, run_rule_tests

pytestmark = pytest.mark.service
UNIT_TESTS = Path(__file__).resolve().parent / "prometheus_rules"


@pytest.mark.parametrize("name", ["tableside-hub", "tableside-agent"])
def test_promtool_accepts_the_rules(name):
    assert "SUCCESS" in check_rules(RULES / f"{name}.rules.yml")


@pytest.mark.parametrize("name", ["tableside-hub", "tableside-agent"])
def test_the_main_alerts_fire_as_their_unit_tests_say(name):
    assert "SUCCESS" in run_rule_tests(UNIT_TESTS / f"{name}.test.yml")

