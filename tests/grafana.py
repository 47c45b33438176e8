"""The shipped Grafana dashboard as tests read it: its panels, their queries, the metrics named."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "packaging" / "grafana" / "tableside-dashboard.json"
# Grafana's own variables, as Prometheus would see them after Grafana filled them in
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}
_METRIC = re.compile(r"\b((?:tableside|process)_[a-z0-9_]+)\b")


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, rows' nested ones too."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def as_prometheus_sees_it(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metrics_named(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def exported_names(exposition: str) -> set[str]:
    """Every series name a /metrics page can give: its samples' names, and for each family it
    declares (even one with no samples yet) the names its type produces."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            suffixes = {"histogram": ("_bucket", "_count", "_sum"), "summary": ("", "_count", "_sum"),
                        "counter": ("", "_total") if not name.endswith("_total") else ("",)}.get(kind, ("",))
            names.update(name + suffix for suffix in suffixes)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
