"""drivers imports nothing of ours: it must stay usable on its own."""

import ast
from pathlib import Path

import drivers

OURS = {"agent", "hub", "contract", "tableside"}


def test_drivers_import_nothing_of_ours():
    root = Path(drivers.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] in OURS]
    assert offenders == []
