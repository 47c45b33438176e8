"""A real Prometheus (Debian's `prometheus` package) on a free loopback port for a test, scraping the
targets it is given with the shipped alert rules loaded, and a query helper; and promtool."""

import asyncio
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services import free_port, missing, wait_for_port

RULES = Path(__file__).resolve().parent.parent / "packaging" / "prometheus"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install prometheus)")
    return path


def check_rules(path: Path) -> str:
    """promtool's verdict on a rules file (its output; the assertion fails with it when refused)."""
    result = subprocess.run([binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def run_rule_tests(path: Path) -> str:
    """`promtool test rules`: the alerts fire (and stay quiet) as the unit test file says."""
    result = subprocess.run([binary("promtool"), "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@contextmanager
def prometheus(tmp_path: Path, targets: dict[str, int], rules: list[Path]) -> Iterator[int]:
    """Prometheus scraping job name -> port on 127.0.0.1 every second; its own port."""
    port = free_port()
    jobs = "".join(f"""  - job_name: {job}
    static_configs: [{{targets: ["127.0.0.1:{target}"]}}]
""" for job, target in targets.items())
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: {json.dumps([str(r) for r in rules])}
scrape_configs:
{jobs}""")
    with open(tmp_path / "prometheus.log", "wb") as log:
        proc = subprocess.Popen([binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for_port(port, timeout=30, alive=proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


async def query(port: int, expr: str) -> list | None:
    """The query's result; None while Prometheus is still starting (503). Off the loop: what it
    scrapes may run on this loop."""
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
