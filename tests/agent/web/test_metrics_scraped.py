"""A real Prometheus scrapes a running agent (an order taken, a diner's beacon) and promtool
accepts the agent's shipped alert rules."""

import pytest

from tests.agent.helpers import place, table_tokens
from tests.prometheus import RULES, check_rules, prometheus, query
from tests.waiting import eventually

pytestmark = pytest.mark.service
AGENT_RULES = RULES / "tableside-agent.rules.yml"


def test_promtool_accepts_the_agents_alert_rules():
    assert "SUCCESS" in check_rules(AGENT_RULES)


async def test_prometheus_scrapes_the_agent(agent_client, tmp_path):
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    beacon = {"vitals": [{"name": "lcp", "value": 900}]}
    assert (await agent_client.post("/api/v1/vitals", json=beacon)).status == 204
    with prometheus(tmp_path, {"tableside-agent": agent_client.server.port}, [AGENT_RULES]) as port:
        orders = await eventually(lambda: query(port, "tableside_agent_orders_taken_total"), within=30, every=0.5,
                                  what="Prometheus scraping the agent")
        assert orders[0]["value"][1] == "1"
        lcp = await query(port, 'tableside_agent_diner_vital_seconds_count{vital="lcp"}')
        assert lcp[0]["value"][1] == "1"
        link = await query(port, "tableside_agent_link_connected")
        assert link[0]["value"][1] == "0"  # no broker in this test: the AgentOffline rule's input
