"""A Debian 12 root to install our packages into, made with debootstrap and kept as a tarball.

The first run makes it (debootstrap minbase from Debian's registry, plus systemd so that
`systemd-analyze verify --root` finds the targets our units name) and caches it under
/var/cache/tableside-ci; later runs unpack the tarball, a few seconds. Downloaded .debs are kept
there too, so `apt-get -f install` fetches each dependency once.

Every command runs in a mount namespace of its own (`unshare --mount`): /proc and the apt cache are
mounted for it alone and vanish when it ends, so nothing is left mounted on the host, whatever
happens to the test.
"""

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("TABLESIDE_CI_CACHE", "/var/cache/tableside-ci"))
SUITE = "bookworm"
EXTRA = ["systemd", "file"]  # what the tests need inside besides minbase; part of the cache key
TARBALL = CACHE / f"debian12-{SUITE}-minbase-{'-'.join(EXTRA)}-v1.tar.gz"
ARCHIVES = CACHE / "apt-archives"
# its package lists age: Debian replaces superseded versions, so a stale list would ask for files
# gone from the registry; a week-old root is made again
MAX_AGE_S = 7 * 24 * 3600
# Debian 12's environment for a service: what systemd gives a unit, not the test runner's
SERVICE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

_ENTER = r"""
set -e
mount -t proc proc "$ROOT/proc"
mkdir -p "$ROOT/var/cache/apt/archives"
mount --bind "$ARCHIVES" "$ROOT/var/cache/apt/archives"
exec chroot "$ROOT" "$@"
"""


def tools_missing() -> str | None:
    for tool in ("debootstrap", "unshare", "chroot", "systemd-analyze"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt-get install debootstrap systemd util-linux)"
    if os.geteuid() != 0:
        return "installing packages into a chroot needs root"
    return None


def _make_tarball(log: Path) -> None:
    """debootstrap once; the tarball appears only when complete (a killed run leaves no half root)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ARCHIVES.mkdir(exist_ok=True)
    build = CACHE / f"root.partial-{os.getpid()}"  # two runs at once each make their own
    shutil.rmtree(build, ignore_errors=True)
    with log.open("ab") as out:
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(EXTRA)}", SUITE, str(build)],
                       check=True, stdout=out, stderr=subprocess.STDOUT, timeout=900)
        # package lists inside, so that installing our .deb can pull its dependencies
        _enter(build, ["apt-get", "update", "-qq"], stdout=out, stderr=subprocess.STDOUT, timeout=600)
    partial = TARBALL.with_suffix(f".partial-{os.getpid()}")
    with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
        tar.add(build, arcname=".")
    partial.rename(TARBALL)
    shutil.rmtree(build, ignore_errors=True)


def _enter(root: Path, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**SERVICE_ENV, "ROOT": str(root), "ARCHIVES": str(ARCHIVES), "DEBIAN_FRONTEND": "noninteractive",
           **kwargs.pop("env", {})}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, "sh", *argv],
                          env=env, check=kwargs.pop("check", True), **kwargs)


class DebianRoot:
    """A fresh copy of the cached root at `path`; `run` executes inside it, as root or as a user."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def unpack(cls, where: Path, log: Path) -> "DebianRoot":
        if not TARBALL.exists() or time.time() - TARBALL.stat().st_mtime > MAX_AGE_S:
            _make_tarball(log)
        where.mkdir(parents=True)
        with tarfile.open(TARBALL) as tar:
            tar.extractall(where, filter="fully_trusted")  # our own tarball: devices and owners kept
        return cls(where)

    def run(self, *argv: str, user: str | None = None, env: dict | None = None, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess:
        """Run argv in the root; as `user` with that user's groups, as systemd's User= would."""
        if user:
            argv = ("setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv)
        result = _enter(self.path, list(argv), env=env or {}, check=False, timeout=timeout,
                        capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def popen(self, *argv: str, user: str, log: Path, env: dict | None = None) -> subprocess.Popen:
        """A long-running process as `user` (the unshare/sh/chroot/setpriv chain execs into it)."""
        argv = ("setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv)
        env = {**SERVICE_ENV, **(env or {}), "ROOT": str(self.path), "ARCHIVES": str(ARCHIVES)}
        with log.open("ab") as out:
            return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, "sh",
                                     *argv], env=env, stdout=out, stderr=subprocess.STDOUT)

    def install(self, deb: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """`apt-get install ./x.deb`: dpkg's unpack and maintainer scripts, dependencies from Debian."""
        inside = self.path / "tmp" / deb.name
        shutil.copy(deb, inside)
        try:
            return self.run("apt-get", "install", "-y", "-q", "--allow-downgrades", "-o", "Dpkg::Options::=--force-confold",
                            f"/tmp/{deb.name}", env=env, check=check, timeout=600)
        finally:
            inside.unlink()

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def mode(self, path: str) -> tuple[int, str, str]:
        """Mode, owner and group of a file in the root, named by the root's own passwd and group."""
        def names(table: str) -> dict[int, str]:
            rows = (line.split(":") for line in self.file(f"/etc/{table}").read_text().splitlines() if line)
            return {int(row[2]): row[0] for row in rows}

        info = self.file(path).stat()
        return info.st_mode & 0o7777, names("passwd")[info.st_uid], names("group")[info.st_gid]
