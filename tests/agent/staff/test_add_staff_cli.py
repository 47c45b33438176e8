"""`tableside agent add-staff`: the first manager at set-up."""

import subprocess
import sys

from agent.staff.secrets import verify_secret
from agent.store.database import connect


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tableside.cli", "agent", "add-staff", *args],
                          capture_output=True, text=True, timeout=60)


def test_add_staff_creates_a_manager_who_can_sign_in(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nid = "t"\ndata_dir = "{tmp_path / "data"}"\n')
    done = _run("--config", str(config), "--name", "Ana", "--role", "manager", "--secret", "2468")
    assert done.returncode == 0, done.stderr
    assert "created manager 'Ana'" in done.stdout and "2468" not in done.stdout + done.stderr
    db = connect(tmp_path / "data" / "agent.sqlite")
    name, role, secret_hash = db.execute("SELECT name, role, secret_hash FROM staff_accounts").fetchone()
    assert (name, role) == ("Ana", "manager") and verify_secret(secret_hash, "2468")

    again = _run("--config", str(config), "--name", "ANA", "--role", "server", "--secret", "1357")
    assert again.returncode == 2 and "already an account" in again.stderr
    bad_pin = _run("--config", str(config), "--name", "Bo", "--role", "server", "--secret", "12")
    assert bad_pin.returncode == 2 and "4 to 8 digits" in bad_pin.stderr
    assert db.execute("SELECT COUNT(*) FROM staff_accounts").fetchone()[0] == 1
