"""A real Prometheus scrapes a running hub and a running agent linked through a real Mosquitto: after
an order, a webhook and a message waiting for an agent that is away, its queries return the hub's
new series (agents online, downlink waiting, the pool, webhooks, reconciliation, the CRL) beside the
agent's; and every query of the shipped Grafana dashboard parses in that Prometheus and names only
metrics the two really export."""

import asyncio
import json
import urllib.request

import aiohttp
import pytest

from agent.app import create_app as create_agent_app
from agent.state import STATE
from contract.messages import Ack
from hub.app import create_app as create_hub_app
from hub.appkeys import STORE
from hub.config import HubConfig
from hub.metrics import METRICS
from tests import grafana
from tests.agent.helpers import make_config, place, table_tokens
from tests.prometheus import RULES, prometheus, query
from tests.waiting import eventually

pytestmark = pytest.mark.service
TOKEN = "observability-operator-token-0123456789"
AGENT = "agent-observed"
AWAY = "agent-away"  # enrolled, never connects: what the hub queues for it waits


def value(result: list | None) -> float | None:
    return float(result[0]["value"][1]) if result else None


async def until(port: int, expr: str, check=lambda v: v is not None, within: float = 60) -> float:
    """The query's single value once `check` holds for it (Prometheus scrapes every second)."""
    async def ready():
        found = value(await query(port, expr))
        return (found,) if found is not None and check(found) else None  # a tuple: 0 is a value too
    return (await eventually(ready, within=within, every=0.5, what=f"Prometheus: {expr}"))[0]


async def test_prometheus_scrapes_hub_and_agent_and_the_dashboard_queries_them(aiohttp_client, tmp_path, broker):
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port, metrics_port=0)
    hub_app = create_hub_app(config)
    hub_app[METRICS].state_every_s = 0.5  # the state gauges' read, every 15 s in service
    hub = await aiohttp_client(hub_app)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await hub.post("/api/v1/restaurants", headers=auth, json={  # enrolls both agents
        "name": "Observed", "country": "FR", "currency": "EUR", "agent_ids": [AGENT, AWAY],
        "fee_plan": {"basis_points": 100, "fixed_minor": 0, "min_minor": None, "cap_minor": None,
                     "fee_on_tips": False}})
    assert resp.status == 201, await resp.text()
    await hub.app[STORE].enqueue_down(AWAY, Ack(ids=[]))
    agent_config = make_config(tmp_path, broker_port=broker.port, agent={"id": AGENT, "data_dir": str(tmp_path / "a")},
                               hub={"url": str(hub.make_url(""))})
    agent = await aiohttp_client(create_agent_app(agent_config))
    await eventually(lambda: agent.app[STATE].link.connected, within=30, what="the agent's link")
    token = (await table_tokens(agent))["Table 1"]
    assert (await place(agent, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    async with aiohttp.ClientSession() as http:
        # no webhook secret on this hub: refused, and counted as such
        async with http.post(str(hub.make_url("/stripe/webhook")), data=b"{}",
                             headers={"Stripe-Signature": "t=1,v1=0"}) as refused:
            assert refused.status == 503
        metrics_port = hub.app[METRICS].port
        with prometheus(tmp_path, {"tableside-hub": metrics_port, "tableside-agent": agent.server.port},
                        sorted(RULES.glob("*.rules.yml"))) as port:
            await until(port, 'tableside_hub_link_messages_total{type="order.placed",outcome="applied"}',
                        lambda v: v == 1)
            await until(port, "tableside_hub_agents_online", lambda v: v == 1)
            assert await until(port, 'tableside_hub_downlink_waiting_top_messages{agent="agent-away"}') == 1
            assert await until(port, "tableside_hub_downlink_waiting_messages") >= 1
            assert await until(port, "tableside_hub_db_connections_max") >= 1
            assert await until(port, "tableside_hub_db_connections_in_use") >= 0
            assert await until(port, 'tableside_hub_stripe_webhooks_total{result="unconfigured"}') == 1
            assert await until(port, 'tableside_hub_reconcile_runs_total{result="ok"}') >= 1
            assert await until(port, "tableside_hub_reconcile_last_success_timestamp_seconds") > 0
            # the CRL the hub wrote at its first start runs out days from now
            assert await until(port, "tableside_hub_crl_next_update_timestamp_seconds - time()") > 86400
            assert await until(port, "tableside_agent_orders_taken_total") == 1
            assert await until(port, "tableside_agent_link_connected", lambda v: v == 1) == 1
            # the rules loaded into this Prometheus evaluate against these series without error
            await _rules_healthy(port)

            async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                exported = grafana.exported_names(await r.text())
            exported |= grafana.exported_names(await (await agent.get("/metrics")).text())
            dashboard = grafana.load()
            for expr in grafana.expressions(dashboard):
                assert grafana.metrics_named(expr) <= exported, (expr, grafana.metrics_named(expr) - exported)
                # a query Prometheus cannot parse answers 400: query() raises it
                assert await query(port, grafana.as_prometheus_sees_it(expr)) is not None, expr


async def _rules_healthy(port: int) -> None:
    def rules() -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5) as resp:
            return [r for g in json.load(resp)["data"]["groups"] for r in g["rules"]]

    async def evaluated():
        found = await asyncio.to_thread(rules)
        return found if found and all(r.get("lastEvaluation", "").startswith("2") for r in found) else None
    found = await eventually(evaluated, within=30, every=0.5, what="every rule evaluated")
    assert all(r["health"] == "ok" for r in found), [(r["name"], r.get("lastError")) for r in found]
