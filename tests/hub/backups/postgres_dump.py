"""pg_dump and pg_restore of a hub's schema in the test PostgreSQL (trust auth), as docs/recovery.md says."""

import asyncio
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.services import missing


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (postgresql-client)")
    return path


def _libpq(url: str) -> list[str]:
    parts = make_url(url)
    return ["--host", parts.host or "127.0.0.1", "--port", str(parts.port or 5432), "--username",
            parts.username or "postgres"]


async def dump(base_url: str, schema: str, into: Path) -> None:
    await asyncio.to_thread(subprocess.run, [tool("pg_dump"), *_libpq(base_url), "--format=custom",
                                             f"--schema={schema}", f"--file={into}", make_url(base_url).database],
                            check=True)


async def restore(base_url: str, database: str, dumped: Path) -> None:
    await asyncio.to_thread(subprocess.run, [tool("pg_restore"), *_libpq(base_url), "--no-owner",
                                             f"--dbname={database}", str(dumped)], check=True)


def url_of(base_url: str, schema: str, database: str | None = None) -> str:
    url = make_url(base_url)
    if database is not None:
        url = url.set(database=database)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
