"""The hub's Prometheus metrics: a real Prometheus scrapes a running hub whose link applies an
order over a real Mosquitto, and promtool accepts the shipped alert rules."""

import asyncio

import aiohttp
import aiomqtt
import pytest

from contract import envelope, topics
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.config import HubConfig
from hub.metrics import METRICS, HubMetrics
from tests.hub.factories import TOKEN, encoded, enroll, order_placed
from tests.prometheus import RULES as RULES_DIR
from tests.prometheus import check_rules, prometheus, query
from tests.waiting import eventually

pytestmark = pytest.mark.service
RULES = RULES_DIR / "tableside-hub.rules.yml"
AGENT = "agent-metrics"


def test_promtool_accepts_the_alert_rules():
    assert "SUCCESS" in check_rules(RULES)


async def test_prometheus_scrapes_the_hub_link_and_http_metrics(aiohttp_client, tmp_path, broker):
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port, metrics_port=0)
    client = await aiohttp_client(create_app(config))
    await asyncio.wait_for(client.app[LINK].wait_connected(), 10)
    metrics_port = client.app[METRICS].port
    enroll(client.app[STORE].engine, AGENT)
    body = encoded(AGENT, order_placed())
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier=f"test-{AGENT}") as agent:
        await agent.subscribe(topics.down(AGENT, "ack"), qos=1)
        await agent.publish(topics.up(AGENT, "order.placed"), body, qos=1)
        async with asyncio.timeout(10):
            async for message in agent.messages:
                assert envelope.decode_data(envelope.decode(message.payload)).ids == [envelope.decode(body).id]
                break
    assert (await client.get("/api/v1/agents", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{metrics_port}/metrics") as resp:
        text = await resp.text()
    assert 'tableside_hub_link_messages_total{outcome="applied",type="order.placed"} 1.0' in text
    assert "tableside_hub_link_batch_size_messages_count 1.0" in text
    assert 'tableside_hub_http_request_duration_seconds_count{route="/api/v1/agents",status="200"} 1.0' in text

    with prometheus(tmp_path, {"tableside-hub": metrics_port}, [RULES]) as port:
        series = await eventually(lambda: query(port, 'tableside_hub_link_messages_total{type="order.placed"}'),
                                  within=30, every=0.5, what="Prometheus scraping the hub")
        assert series[0]["metric"]["outcome"] == "applied" and series[0]["value"][1] == "1"
        assert (await eventually(lambda: query(port, "tableside_hub_link_connected"), within=10, every=0.5,
                                 what="link gauge"))[0]["value"][1] == "1"


def test_a_cash_payment_applied_over_the_link_is_a_payment_too():
    metrics = HubMetrics()
    metrics.count_link("payment.taken", "applied")
    metrics.count_link("payment.taken", "duplicate")  # the same payment again: no second one
    metrics.count_link("order.placed", "applied")
    metrics.count_link("made.up-1", "refused")  # a sender's own topic: no series of its own
    metrics.count_link("made.up-2", "refused")
    assert metrics.registry.get_sample_value("tableside_hub_link_messages_total",
                                             {"type": "unknown", "outcome": "refused"}) == 2
    assert metrics.registry.get_sample_value("tableside_hub_payments_total",
                                             {"provider": "external", "outcome": "taken"}) == 1
    assert metrics.registry.get_sample_value("tableside_hub_link_messages_total",
                                             {"type": "payment.taken", "outcome": "duplicate"}) == 1
