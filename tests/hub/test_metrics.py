"""The hub's Prometheus metrics: a real Prometheus scrapes a running hub whose link applies an
order over a real Mosquitto, and promtool accepts the shipped alert rules."""

import asyncio
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import aiohttp
import aiomqtt
import pytest

from contract import envelope, topics
from hub.app import create_app
from hub.appkeys import LINK
from hub.config import HubConfig
from hub.metrics import METRICS
from tests.hub.factories import TOKEN, encoded, order_placed
from tests.services import free_port, missing, wait_for_port
from tests.waiting import eventually

pytestmark = pytest.mark.service
RULES = Path(__file__).resolve().parents[2] / "packaging" / "prometheus" / "tableside-hub.rules.yml"
AGENT = "agent-metrics"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install prometheus)")
    return path


def test_promtool_accepts_the_alert_rules():
    result = subprocess.run([binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@pytest.fixture
def prometheus(tmp_path):
    def start(target_port: int) -> int:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: tableside-hub
    static_configs: [{{targets: ["127.0.0.1:{target_port}"]}}]
""")
        proc = subprocess.Popen([binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
        procs.append(proc)
        wait_for_port(port, timeout=30, alive=proc)
        return port
    procs: list[subprocess.Popen] = []
    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


async def query(port: int, expr: str) -> list | None:
    """The query's result; None while Prometheus is still starting (503). Off the loop: the hub it
    scrapes runs on this loop."""
    def get() -> list | None:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp)["data"]["result"]
        except urllib.error.HTTPError as exc:
            if exc.code == 503:
                return None
            raise
    return await asyncio.to_thread(get)


async def test_prometheus_scrapes_the_hub_link_and_http_metrics(aiohttp_client, tmp_path, broker, prometheus):
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port, metrics_port=0)
    client = await aiohttp_client(create_app(config))
    await asyncio.wait_for(client.app[LINK].wait_connected(), 10)
    metrics_port = client.app[METRICS].port
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

    port = await asyncio.to_thread(prometheus, metrics_port)
    series = await eventually(lambda: query(port, 'tableside_hub_link_messages_total{type="order.placed"}'),
                              within=30, every=0.5, what="Prometheus scraping the hub")
    assert series[0]["metric"]["outcome"] == "applied" and series[0]["value"][1] == "1"
    assert (await eventually(lambda: query(port, "tableside_hub_link_connected"), within=10, every=0.5,
                             what="link gauge"))[0]["value"][1] == "1"
