"""The arm64 agent package: what it is made of, and that it runs on an aarch64 Debian (under qemu-user).

There is no arm64 machine here, so the package is unpacked into an arm64 Debian 12 root (debootstrap's
first stage, its .debs unpacked, no maintainer scripts run) and its Python, Debian's arm64 python3,
is started by qemu-aarch64-static named on the command line (no binfmt registration on the host).
"""

import os
import shutil
import struct
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.packaging.conftest import built
from tests.packaging.debian_root import CACHE, MAX_AGE_S, SERVICE_ENV, DebianRoot, tools_missing
from tests.services import free_port, missing

# installing, booting and building take minutes on a loaded 2-core machine, not the suite's 2
pytestmark = pytest.mark.timeout(900)

EM_AARCH64, EM_X86_64 = 183, 62
ARM_TARBALL = CACHE / "debian12-bookworm-arm64-python3-v1.tar.gz"


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return struct.unpack_from("<H", head, 18)[0]  # e_machine (little-endian: both targets are)


def _unpacked(deb: Path, where: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(where)], check=True, timeout=300)
    return where


def test_arm64_package_holds_aarch64_code_only(tmp_path):
    deb = built("agent", "arm64")
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Architecture", "Description"],
                            capture_output=True, text=True, check=True).stdout
    assert "Architecture: arm64" in fields and "32-bit ARM (armhf, armel) is" in fields
    tree = _unpacked(deb, tmp_path / "tree")
    machines: dict[int, list[Path]] = {}
    for path in tree.rglob("*"):
        if path.is_file() and not path.is_symlink() and (machine := _elf_machine(path)) is not None:
            machines.setdefault(machine, []).append(path)
    assert set(machines) == {EM_AARCH64}, {m: [str(p) for p in ps[:5]] for m, ps in machines.items()}
    names = {p.name for p in machines[EM_AARCH64]}
    # the compiled dependencies the issue names are there, for aarch64
    for expected in ("_rust.abi3.so", "_cffi_backend.cpython-311-aarch64-linux-gnu.so"):
        assert expected in names
    assert any(n.startswith("_core.cpython-311-aarch64") for n in names)  # msgspec
    assert any("aarch64" in n and "_http_parser" in n for n in names)  # aiohttp's C parser
    # `file` agrees on one of them, so the check above is not our parser's opinion alone
    sample = next(p for p in machines[EM_AARCH64] if p.name == "_rust.abi3.so")
    assert "ARM aarch64" in subprocess.run(["file", str(sample)], capture_output=True, text=True).stdout


def test_build_refuses_32_bit_arm(tmp_path):
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(["bash", str(root / "packaging" / "nfpm" / "build.sh"), "agent", "armhf", "0.0.1",
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no 32-bit ARM" in done.stderr and not list(tmp_path.iterdir())


def _arm64_root(where: Path) -> DebianRoot:
    if not ARM_TARBALL.exists() or time.time() - ARM_TARBALL.stat().st_mtime > MAX_AGE_S:
        build = CACHE / f"arm64.partial-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        subprocess.run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase", "--include=python3",
                        "bookworm", str(build)], check=True, capture_output=True, timeout=900)
        # the first stage unpacks only the essentials; unpack the rest (python3 and its libraries) too
        for deb in sorted((build / "var" / "cache" / "apt" / "archives").glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(build)], check=True, timeout=120)
        partial = ARM_TARBALL.with_suffix(f".partial-{os.getpid()}")
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            tar.add(build, arcname=".")
        partial.rename(ARM_TARBALL)
        shutil.rmtree(build, ignore_errors=True)
    where.mkdir()
    with tarfile.open(ARM_TARBALL) as tar:
        tar.extractall(where, filter="fully_trusted")
    return DebianRoot(where)


def test_arm64_agent_answers_healthz_under_qemu(tmp_path):
    deb = built("agent", "arm64")
    reason = tools_missing()
    qemu = shutil.which("qemu-aarch64-static")
    if reason or qemu is None:
        missing(reason or "qemu-aarch64-static is not installed (apt-get install qemu-user-static)")
    root = _arm64_root(tmp_path / "root")
    _unpacked(deb, root.path)
    shutil.copy(qemu, root.file("/usr/bin/qemu-aarch64-static"))
    assert _elf_machine(root.file("/usr/bin/python3.11")) == EM_AARCH64
    port = free_port()
    root.file("/var/lib/tableside").mkdir(parents=True, exist_ok=True)
    root.file("/etc/tableside/agent.toml").write_text(
        f'[agent]\nid = "arm64-agent"\ndata_dir = "/var/lib/tableside"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {port}\n[broker]\nhost = "127.0.0.1"\nport = {free_port()}\n')
    # what /usr/bin/tableside sets, then the same module (the wrapper is an arm64 /bin/sh script)
    env = {"PYTHONPATH": "/opt/tableside/lib", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    log = tmp_path / "agent.log"
    argv = ["/usr/bin/qemu-aarch64-static", "/usr/bin/python3", "-m", "tableside.cli", "agent", "run",
            "--config", "/etc/tableside/agent.toml"]
    process = subprocess.Popen(["chroot", str(root.path), *argv], env={**SERVICE_ENV, **env},
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        from tests.services import wait_for_port

        try:
            wait_for_port(port, timeout=240, alive=process)
        except TimeoutError:
            raise AssertionError(f"the arm64 agent did not listen:\n{log.read_text()[-3000:]}") from None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as answer:
            assert answer.status == 200
    finally:
        process.terminate()
        process.wait(60)
        shutil.rmtree(root.path, ignore_errors=True)
