"""The systemd units as shipped: hardened to the score docs/operations.md states, nothing assumed."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import missing

UNITS = Path(__file__).resolve().parents[2] / "packaging" / "systemd"
MOST_EXPOSED = 2.5  # systemd-analyze's scale: 0 is locked down, 10 is a unit with no protection


def _exposure(unit: Path) -> float:
    if shutil.which("systemd-analyze") is None:
        missing("systemd-analyze is not installed (apt-get install systemd)")
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert found, f"no score in systemd-analyze's answer:\n{done.stdout}\n{done.stderr}"
    return float(found.group(1))


@pytest.mark.parametrize("unit", ["tableside-agent.service", "tableside-hub.service"])
def test_unit_scores_at_most_2_5(unit):
    assert _exposure(UNITS / unit) <= MOST_EXPOSED


def test_the_score_falls_when_hardening_is_taken_away(tmp_path):
    """The measure itself reacts: the agent's unit without its sandbox scores far worse."""
    text = (UNITS / "tableside-agent.service").read_text()
    bare = "\n".join(line for line in text.splitlines()
                     if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|Device|NoNew)", line))
    (tmp_path / "tableside-agent.service").write_text(bare)
    assert _exposure(tmp_path / "tableside-agent.service") > 5.0


def test_agent_unit_reaches_only_printer_devices():
    lines = (UNITS / "tableside-agent.service").read_text().splitlines()
    assert "DevicePolicy=closed" in lines
    allowed = {line.split("=", 1)[1].split()[0] for line in lines if line.startswith("DeviceAllow=")}
    assert allowed == {"char-ttyS", "char-ttyUSB", "char-ttyACM", "char-usb"}
    assert "Restart=always" in lines and "SystemCallFilter=@system-service" in lines
    assert "SupplementaryGroups=lp dialout" in lines
