"""The certificate revocation list the broker checks: written at once on every revocation, and
re-signed long before it runs out.

A CRL past its nextUpdate is not "no revocations": OpenSSL refuses every client certificate
checked against it, so a stale CRL locks every restaurant out of the broker. One worker at a time
(a singleton job) looks every CHECK_EVERY_S and re-signs when less than half the validity
(`[ca] crl_days`) is left; a revocation re-signs from whichever worker made it. Mosquitto reads
the file at start and on SIGHUP, so `[ca] on_crl_change` (e.g. `systemctl reload mosquitto`)
runs after each write.
"""

import asyncio
import contextlib
import logging
import os
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from hub.config import HubConfig
from hub.enrollment import records
from hub.enrollment.ca import CertificateAuthority, Revoked, pem

log = logging.getLogger(__name__)

CHECK_EVERY_S = 3600.0
HOOK_TIMEOUT_S = 60.0


def due(path: Path, days: float, now: datetime | None = None) -> bool:
    """Whether the CRL at `path` is missing, unreadable, or has less than half its life left."""
    now = now or datetime.now(UTC)
    try:
        current = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError):
        return True
    next_update = current.next_update_utc
    return next_update is None or next_update - now < timedelta(days=days) / 2


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)  # the broker's user reads it
    tmp.replace(path)  # the broker never reads half a file


async def publish(ca: CertificateAuthority, engine: Engine, config: HubConfig) -> Path:
    """Sign the CRL from the database now, write it, run on_crl_change."""

    def sign() -> str:
        now = datetime.now(UTC)
        with engine.connect() as conn:
            revoked = [Revoked(serial, at) for serial, at in records.revoked_certificates(conn, now)]
        return pem(ca.crl(revoked, config.crl_days, now))
    text = await asyncio.to_thread(sign)
    await asyncio.to_thread(_write, config.crl_path, text)
    log.info("CRL written path=%s", config.crl_path)
    if config.on_crl_change:
        await run_hook("on_crl_change", config.on_crl_change)
    return config.crl_path


async def run_hook(name: str, command: str, env: Mapping[str, str] | None = None) -> bool:
    """Run an operator's command (no shell), with `env` added to the hub's environment; True when
    it exits 0 in time."""
    try:
        process = await asyncio.create_subprocess_exec(*shlex.split(command), stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT,
                                                       env={**os.environ, **(env or {})})
    except OSError as exc:
        log.error("ca.%s could not start: %s", name, exc)
        return False
    try:
        async with asyncio.timeout(HOOK_TIMEOUT_S):
            output, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        log.error("ca.%s took over %.0fs and was stopped", name, HOOK_TIMEOUT_S)
        return False
    if process.returncode != 0:
        log.error("ca.%s exited %d: %s", name, process.returncode, output.decode(errors="replace")[-500:])
        return False
    return True


async def keep_fresh(ca: CertificateAuthority, engine: Engine, config: HubConfig,
                     check_every: float = CHECK_EVERY_S) -> None:
    """The singleton job: re-sign whenever due; until cancelled."""
    while True:
        try:
            if await asyncio.to_thread(due, config.crl_path, config.crl_days):
                await publish(ca, engine, config)
        except Exception:  # the next look tries again; half the CRL's life is the margin
            log.exception("CRL not re-signed; trying again in %.0fs", check_every)
        await asyncio.sleep(check_every)
