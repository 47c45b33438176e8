"""Renewing the box's TLS certificate before it runs out, without anyone noticing.

When a third of the certificate's lifetime is left (30 days of 90), the agent makes a new key,
asks the hub for a certificate on it over HTTPS (POST /api/v1/enroll/renew, proved with the
current key: contract/renewal.py), writes link/certs/<serial>/ and flips link/current to it in
one rename (agent/link/pairing.write_cert_generation), then tells the link to reconnect, which
reads the new files. A failure is logged and tried again with growing back-off (a minute, then
up to an hour): there are weeks of margin. An expired certificate locks the box out of the
broker, so the state is on /healthz for the box's monitoring.
"""

import asyncio
import base64
import logging
import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.link.pairing import csr_for, new_tls_key, write_cert_generation
from contract.renewal import renewal_message

log = logging.getLogger(__name__)

RENEW_WITH_LEFT = 1 / 3  # of the lifetime
RETRY_START_S = 60.0
RETRY_MAX_S = 3600.0
LOOK_AT_LEAST_EVERY_S = 6 * 3600.0  # a long sleep is cut short: the clock may jump, files be replaced
REQUEST_TIMEOUT_S = 30.0
KEEP_GENERATIONS = 2  # the current certificate and the one before it


class RenewalFailed(Exception):
    """The hub did not renew (unreachable, refused, or an answer that does not fit)."""


def renew_at(cert: x509.Certificate) -> datetime:
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    return cert.not_valid_after_utc - lifetime * RENEW_WITH_LEFT


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@dataclass
class Files:
    """Where pairing put the link's credentials: link/current/{tls.key, agent.crt}."""

    link_dir: Path

    @property
    def current(self) -> Path:
        return self.link_dir / "current"

    def read(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = serialization.load_pem_private_key((self.current / "tls.key").read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.current / 'tls.key'}: not an EC private key")
        return key, x509.load_pem_x509_certificate((self.current / "agent.crt").read_bytes())

    def install(self, key: ec.EllipticCurvePrivateKey, cert_pem: str) -> None:
        """The new generation in place and link/current flipped to it, then old ones pruned."""
        write_cert_generation(self.link_dir, key, cert_pem)
        generations = sorted((self.link_dir / "certs").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        in_use = self.current.resolve()
        for old in generations[KEEP_GENERATIONS:]:
            if old.resolve() != in_use:
                shutil.rmtree(old, ignore_errors=True)


def renewal_request(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                    new_key: ec.EllipticCurvePrivateKey, now: datetime) -> dict[str, str]:
    """The body of POST /api/v1/enroll/renew: signed with the current key, for the new one."""
    csr = csr_for(new_key)
    signed_at = now.isoformat()
    signature = key.sign(renewal_message(csr, signed_at), ec.ECDSA(hashes.SHA256()))
    return {"certificate": cert.public_bytes(serialization.Encoding.PEM).decode(), "csr": csr,
            "signed_at": signed_at, "signature": base64.b64encode(signature).decode()}


def check_answer(answer: dict[str, Any], agent_id: str, new_key: ec.EllipticCurvePrivateKey) -> str:
    """The new certificate's PEM, if it is for this agent and this key."""
    try:
        cert_pem = answer["certificate"]
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except (KeyError, TypeError, AttributeError, ValueError):
        raise RenewalFailed("the hub's answer holds no certificate") from None
    if common_name(cert) != agent_id:
        raise RenewalFailed(f"the hub's certificate is for {common_name(cert)!r}, not {agent_id!r}")
    if cert.public_key().public_numbers() != new_key.public_key().public_numbers():
        raise RenewalFailed("the hub's certificate is not for the key this box just made")
    return cert_pem


class Renewal:
    """Runs beside the link; `on_renewed` is how the link learns to reconnect."""

    def __init__(self, link_dir: Path, hub_url: str, on_renewed: Callable[[], None], *,
                 hub_cafile: Path | None = None,
                 retry_start: float = RETRY_START_S, retry_max: float = RETRY_MAX_S) -> None:
        self.files = Files(Path(link_dir))
        self.hub_url = hub_url.rstrip("/")
        self.hub_cafile = hub_cafile  # the --hub-ca of pairing (Pairing.hub_cafile); None: the system's CAs
        self.on_renewed = on_renewed
        self.retry_start, self.retry_max = retry_start, retry_max
        self.expires_at: datetime | None = None
        self.renews_at: datetime | None = None
        self.renewed_at: datetime | None = None
        self.failures = 0  # in a row
        self.last_error: str | None = None

    def status(self, now: datetime | None = None) -> dict[str, Any]:
        """For /healthz: "ok", "due" (renewing, or retrying after `failures`), "expired", or
        "unknown" (not read yet)."""
        now = now or datetime.now(UTC)
        if self.expires_at is None:
            state = "unknown"
        elif now >= self.expires_at:
            state = "expired"
        elif self.renews_at is not None and now >= self.renews_at:
            state = "due"
        else:
            state = "ok"
        return {"state": state, "expires_at": _iso(self.expires_at), "renews_at": _iso(self.renews_at),
                "renewed_at": _iso(self.renewed_at), "failures": self.failures, "last_error": self.last_error}

    async def run(self) -> None:
        """Until cancelled: sleep until due, renew, retry with back-off."""
        backoff = self.retry_start
        while True:
            try:
                _, cert = await asyncio.to_thread(self.files.read)
            except (OSError, ValueError) as exc:  # pairing is being redone, or the files are damaged
                self._failed(f"cannot read the certificate: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.retry_max)
                continue
            self.expires_at, self.renews_at = cert.not_valid_after_utc, renew_at(cert)
            wait = (self.renews_at - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, LOOK_AT_LEAST_EVERY_S))
                continue
            try:
                await self.renew_once()
            except Exception as exc:  # whatever it was (the hub, the disk), the next try may work
                self._failed(str(exc) if isinstance(exc, RenewalFailed) else f"{exc.__class__.__name__}: {exc}",
                             unexpected=not isinstance(exc, RenewalFailed))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.retry_max)
                continue
            backoff = self.retry_start
            await asyncio.sleep(self.retry_start)  # never a hot loop, even if the new one were due at once

    def _failed(self, why: str, unexpected: bool = False) -> None:
        self.failures += 1
        self.last_error = why
        (log.exception if unexpected else log.warning)("certificate not renewed; trying again", extra={
            "error": why, "failures": self.failures,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None})

    async def renew_once(self) -> x509.Certificate:
        """Ask the hub now; on success the new certificate is in place and the link told."""
        key, cert = await asyncio.to_thread(self.files.read)
        agent_id = common_name(cert)
        new_key = await asyncio.to_thread(new_tls_key)
        body = renewal_request(key, cert, new_key, datetime.now(UTC))
        status, answer = await self._post(body)
        if status != 200:
            message = (answer.get("error") or {}).get("message") if isinstance(answer, dict) else None
            raise RenewalFailed(f"the hub answered HTTP {status}: {message or 'no reason given'}")
        cert_pem = check_answer(answer, agent_id, new_key)
        await asyncio.to_thread(self.files.install, new_key, cert_pem)
        renewed = x509.load_pem_x509_certificate(cert_pem.encode())
        self.expires_at, self.renews_at = renewed.not_valid_after_utc, renew_at(renewed)
        self.renewed_at, self.failures, self.last_error = datetime.now(UTC), 0, None
        log.info("certificate renewed", extra={"serial": format(renewed.serial_number, "x"),
                                               "expires_at": self.expires_at.isoformat()})
        self.on_renewed()
        return renewed

    async def _post(self, body: dict[str, str]) -> tuple[int, Any]:
        url = f"{self.hub_url}/api/v1/enroll/renew"
        try:
            context = await asyncio.to_thread(ssl.create_default_context, cafile=self.hub_cafile) \
                if url.startswith("https:") else None
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as http, \
                    http.post(url, json=body, ssl=context if context is not None else True) as resp:
                try:
                    return resp.status, await resp.json(content_type=None)
                except ValueError:
                    return resp.status, {}
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RenewalFailed(f"cannot reach the hub at {url}: {exc or exc.__class__.__name__}") from None



def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None
