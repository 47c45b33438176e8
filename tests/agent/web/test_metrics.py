"""The agent's Prometheus metrics and what diners' phones report: request timings by route pattern
(never a token), orders taken, queues and the link read at scrape time, beacons bounded."""

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from agent.web.diner import vitals_api
from agent.web.metrics import allowed
from tests.agent.helpers import place, table_tokens


async def _scrape(client) -> dict:
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def _sum(samples, name, **labels) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and all((k, v2) in ls for k, v2 in labels.items()))


async def test_orders_http_timings_and_queues_are_exported(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    assert (await agent_client.get("/t/nope")).status == 404
    samples = await _scrape(agent_client)
    assert _sum(samples, "tableside_agent_orders_taken_total") == 1
    route = "/api/v1/tables/{table_token}/orders"
    assert _sum(samples, "tableside_agent_http_request_duration_seconds_count", route=route, status="201") == 1
    assert not any(token in str(key) for key in samples)  # a table token never becomes a label
    assert ("tableside_agent_link_connected", ()) in samples and samples[("tableside_agent_link_connected", ())] == 0
    assert _sum(samples, "tableside_agent_outbox_waiting_messages") >= 1  # the order's message, no broker
    assert any(n == "tableside_agent_device_jobs" for n, _ in samples)


async def test_metrics_answer_only_the_box_itself(agent_client, monkeypatch):
    assert allowed("127.0.0.1", []) and allowed("::1", [])
    assert not allowed("192.168.1.50", []) and not allowed("not an address", []) and not allowed(None, [])
    assert allowed("192.168.1.50", ["192.168.1.0/24"]) and not allowed("10.0.0.1", ["192.168.1.0/24"])
    monkeypatch.setattr("agent.web.metrics.allowed", lambda remote, allow_from: False)  # a phone on the Wi-Fi
    assert (await agent_client.get("/metrics")).status == 403


async def test_diners_vitals_become_histograms_and_junk_is_refused(agent_client):
    beacon = {"vitals": [{"name": "lcp", "value": 1234.5}, {"name": "cls", "value": 0.02},
                         {"name": "order_confirmed", "value": 180}, {"name": "made_up", "value": 5}]}
    assert (await agent_client.post("/api/v1/vitals", json=beacon)).status == 204
    samples = await _scrape(agent_client)
    assert _sum(samples, "tableside_agent_diner_vital_seconds_count", vital="lcp") == 1
    assert _sum(samples, "tableside_agent_diner_vital_seconds_sum", vital="lcp") == 1.2345
    assert _sum(samples, "tableside_agent_diner_cumulative_layout_shift_count") == 1
    assert not any("made_up" in str(k) for k in samples)  # unknown names grow nothing
    assert (await agent_client.post("/api/v1/vitals", json={"vitals": "x"})).status == 400
    big = {"vitals": [{"name": "lcp", "value": 1}] * 500}
    assert (await agent_client.post("/api/v1/vitals", json=big)).status == 413


async def test_a_flood_of_beacons_is_limited_and_orders_go_on(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    beacon = {"vitals": [{"name": "inp", "value": 40}]}
    answers = await asyncio.gather(*(agent_client.post("/api/v1/vitals", json=beacon) for _ in range(50)))
    statuses = [a.status for a in answers]
    assert statuses.count(204) == vitals_api.BEACON_BURST and statuses.count(429) == 50 - vitals_api.BEACON_BURST
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    samples = await _scrape(agent_client)
    assert _sum(samples, "tableside_agent_diner_beacons_total", outcome="limited") == 50 - vitals_api.BEACON_BURST


def test_request_timings_count_every_request_with_a_bounded_cache_of_labels():
    from agent.web.metrics import MAX_CACHED_LABELS, AgentMetrics

    metrics = AgentMetrics()
    for _ in range(3):
        metrics.observe_http("/api/v1/menu", "GET", 200, 0.001)
    for n in range(MAX_CACHED_LABELS + 50):  # a client inventing methods
        metrics.observe_http("unmatched", f"X{n}", 405, 0.001)
    assert len(metrics._http_by_labels) == MAX_CACHED_LABELS
    assert metrics.registry.get_sample_value("tableside_agent_http_request_duration_seconds_count",
                                             {"route": "/api/v1/menu", "method": "GET", "status": "200"}) == 3
    assert metrics.registry.get_sample_value("tableside_agent_http_request_duration_seconds_count",
                                             {"route": "unmatched", "method": f"X{MAX_CACHED_LABELS + 49}",
                                              "status": "405"}) == 1
