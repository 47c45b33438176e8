"""DESIGN.md's import rules.

Between packages: agent -> contract, drivers; hub -> contract; drivers and contract import nothing of
ours; agent and hub never import each other.

Inside agent/, folders follow what a restaurant has, and a lower layer never imports a higher one:
the storage and config everything stands on, then the menu, the devices that print and tell the POS,
the visit and its bill, the orders placed in it, the link to the hub, its backups, staff accounts, the running
agent's state, the HTTP side, and the app that wires it all. Modules of one layer import each other
freely.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"agent", "hub", "drivers", "contract", "tableside"}
ALLOWED = {
    "agent": {"agent", "contract", "drivers"},
    "hub": {"hub", "contract"},
    "drivers": {"drivers"},
    "contract": {"contract"},
    "tableside": OURS,  # the command wires everything together
}
AGENT_LAYERS = [
    {"config", "paired", "events", "store"},
    {"menu"},
    {"devices"},
    {"visits"},
    {"orders"},
    {"link"},
    {"backup"},
    {"staff"},
    {"state"},
    {"web"},
    {"app"},
]


def imports_of(path: Path) -> set[str]:
    """Every module of ours that path imports, dotted (`from agent.visits import bills` gives
    agent.visits and agent.visits.bills: the name may be a module or a symbol)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in OURS}


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path)}


def agent_layer(dotted: str) -> int | None:
    """The layer of an agent module (agent.visits.bills -> the visits layer); None for `agent` itself."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] != "agent":
        return None
    for i, layer in enumerate(AGENT_LAYERS):
        if parts[1] in layer:
            return i
    raise AssertionError(f"{dotted}: agent/{parts[1]} has no place in AGENT_LAYERS")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_design_allows(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) - ALLOWED[package]) for f in files}
    assert {f: b for f, b in bad.items() if b} == {}


def test_every_agent_module_has_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in (ROOT / "agent").iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert tops - set().union(*AGENT_LAYERS) == set()


def test_agent_layers_never_import_a_higher_layer():
    bad = {}
    for path in (ROOT / "agent").rglob("*.py"):
        own = agent_layer(module_name(path))
        if own is None:
            continue
        higher = sorted(name for name in imports_of(path) if (agent_layer(name) or 0) > own)
        if higher:
            bad[str(path.relative_to(ROOT))] = higher
    assert bad == {}


def test_the_checker_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom hub.store import x\nimport agent.menu\nfrom . import y\n")
    assert imported_packages(sample) == {"hub", "agent"}


def test_the_checker_sees_an_import_against_the_layers(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from agent.visits import bills\nfrom agent.web.live import publish\n")
    assert max(agent_layer(name) or 0 for name in imports_of(sample)) == agent_layer("agent.web.live")
    assert agent_layer("agent.menu.pricing") < agent_layer("agent.orders.place") < agent_layer("agent.web.live")
