"""The Debian root booted: its own systemd as PID 1 in a container (systemd-nspawn), so the units run
for real, with every sandbox setting applied, and the maintainer scripts' `systemctl` calls work.

The container shares the host's network (no --private-network), so its services answer on this
machine's loopback; commands go in through nsenter into the container's namespaces. It is not
registered with a machine manager (there is none here): we keep nspawn's pid and stop it ourselves.
"""

import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.packaging.debian_root import DebianRoot


def nspawn_missing() -> str | None:
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is not installed (apt-get install systemd-container)"
    return None


class BootedRoot:
    def __init__(self, root: DebianRoot, log: Path):
        self.root, self.log = root, log
        with log.open("ab") as out:
            self.nspawn = subprocess.Popen(
                ["systemd-nspawn", "--quiet", "--keep-unit", "--register=no", "--boot", "-D", str(root.path),
                 f"--machine=tableside-pkgtest-{secrets.token_hex(4)}"],  # its own name: runs may overlap
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.leader = self._find_leader(within=60)
        # boot finished ("running", or "degraded" when some unrelated unit failed in a container);
        # "offline" while systemd has not yet opened its socket
        deadline, state, said = time.monotonic() + 180, "", ""
        while state in ("", "offline") and time.monotonic() < deadline and self.nspawn.poll() is None:
            asked = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=180)
            state, said = asked.stdout.strip(), asked.stderr
            if state in ("", "offline"):
                time.sleep(0.2)
        if state not in ("running", "degraded"):
            self.stop()
            raise AssertionError(f"the container did not boot ({state!r}, {said!r}):\n{log.read_text()[-3000:]}")

    def _find_leader(self, within: float) -> int:
        """The container's PID 1 as the host sees it: the child nspawn forks."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and self.nspawn.poll() is None:
            for task in Path(f"/proc/{self.nspawn.pid}/task").iterdir():
                for child in (task / "children").read_text().split():
                    # nspawn's first child sets the container up, then becomes (execs) systemd
                    if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                        return int(child)
            time.sleep(0.05)
        raise AssertionError(f"systemd-nspawn started no container:\n{self.log.read_text()[-3000:]}")

    def run(self, *argv: str, check: bool = True, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
        prefix = ["env", *(f"{k}={v}" for k, v in (env or {}).items())] if env else []
        result = subprocess.run(["nsenter", "--target", str(self.leader), "--all", "--root", "--wd", "--",
                                 *prefix, *argv], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def install(self, deb: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        shutil.copy(deb, self.root.file(f"/root/{deb.name}"))  # /tmp is a fresh tmpfs in there
        return self.run("apt-get", "install", "-y", "-q", "--allow-downgrades", "-o",
                        "Dpkg::Options::=--force-confold", f"/root/{deb.name}",
                        env={"DEBIAN_FRONTEND": "noninteractive", **(env or {})}, check=check, timeout=900)

    def main_pid(self, unit: str) -> int:
        return int(self.run("systemctl", "show", "--property=MainPID", "--value", unit).stdout.strip())

    def status_of(self, unit: str) -> dict[str, str]:
        """/proc/PID/status of the unit's main process, read inside the container."""
        text = self.run("cat", f"/proc/{self.main_pid(unit)}/status").stdout
        return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)

    def stop(self) -> None:
        """SIGTERM to nspawn: it asks the container's systemd to shut down in order."""
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(90)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait(10)
