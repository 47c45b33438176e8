"""DESIGN.md's import rules: agent -> contract, drivers; hub -> contract; drivers and contract
import nothing of ours; agent and hub never import each other."""

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


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_design_allows(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) - ALLOWED[package]) for f in files}
    assert {f: b for f, b in bad.items() if b} == {}


def test_the_checker_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom hub.store import x\nimport agent.menu\nfrom . import y\n")
    assert imported_packages(sample) == {"hub", "agent"}
