"""The shipped Grafana dashboard is a Grafana JSON model an operator can import as it is. Whether its
queries parse and name only metrics the hub and agent export: tests/test_metrics_scraped.py."""

from tests.grafana import expressions, load, metrics_named, panels


def test_the_dashboard_is_a_grafana_model():
    dashboard = load()
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    [source] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert source["query"] == "prometheus"  # the operator picks their Prometheus on import
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]  # Grafana's 24 columns
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("timeseries", "stat", "table", "gauge"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_the_dashboard_shows_what_operators_asked_for():
    named = set().union(*(metrics_named(e) for e in expressions(load())))
    for metric in ("tableside_hub_link_messages_total", "tableside_hub_link_apply_seconds_bucket",
                   "tableside_hub_link_batch_size_messages_bucket", "tableside_hub_link_messages_in_flight",
                   "tableside_hub_downlink_waiting_messages", "tableside_hub_agents_online",
                   "tableside_hub_http_request_duration_seconds_bucket", "tableside_hub_payments_total",
                   "tableside_hub_stripe_webhook_lag_seconds_bucket", "tableside_agent_device_held_tickets",
                   "tableside_agent_outbox_waiting_messages", "process_resident_memory_bytes"):
        assert metric in named, metric
