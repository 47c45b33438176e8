"""Enrolling agents: a one-time code and a CSR in, an agent id and its certificate out; renewing,
revoking.

Nothing is half-done: the CSR and the pay-link key are checked before the code is touched, the
certificate is signed before the transaction that uses the code, and that one transaction
creates the agent, binds it to the restaurant, records the certificate and (for a replacement)
revokes the old box. A refused request leaves the code as it was.
"""

import asyncio
import base64
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, Engine

from contract.pay_link import PayLinkError, load_public_key
from contract.renewal import renewal_message
from hub.config import HubConfig
from hub.enrollment import codes, crl, records
from hub.enrollment.ca import CertificateAuthority, CsrRefused, load_csr, pem
from hub.payments import records as payment_records

log = logging.getLogger(__name__)

T = TypeVar("T")
REVOKED_AGENTS_ENV = "TABLESIDE_REVOKED_AGENTS"  # for on_revoke: the agent ids, space-separated
RENEW_PROOF_WINDOW = timedelta(minutes=5)  # a signed renewal request is good this long (clock drift included)
INVALID_CODE = ("this code is not valid: it may be mistyped, used already, expired or cancelled. "
                "Ask the platform operator for a new one")


class EnrollmentRefused(ValueError):
    """A request the hub will not grant; `status` and `code` for the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def new_agent_id() -> str:
    """Chosen by the hub, never by the box: `agt-` and 10 base32 characters (50 bits)."""
    return "agt-" + "".join(secrets.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(10))


class Enrollment:
    def __init__(self, config: HubConfig, engine: Engine, *,
                 on_revoked: Callable[[str], None] | None = None) -> None:
        self._config = config
        self._engine = engine
        self._ca: CertificateAuthority | None = None
        self._on_revoked = on_revoked  # this worker's link forgets the agent at once (others within seconds)

    async def ca(self) -> CertificateAuthority:
        if self._ca is None:
            self._ca = await asyncio.to_thread(CertificateAuthority.open, self._config.ca_dir)
        return self._ca

    async def _tx(self, work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self._engine.begin() as conn:
                return work(conn)
        return await asyncio.to_thread(run)

    # --- codes (operators) ---

    async def make_code(self, restaurant_id: str, *, replaces: bool = False,
                        minutes: float | None = None) -> tuple[str, dict[str, Any]]:
        """A new code (its value, shown once) and how it is listed."""
        code = codes.new_code()
        minutes = minutes if minutes is not None else self._config.code_minutes

        def work(conn: Connection) -> dict[str, Any]:
            if payment_records.restaurant(conn, restaurant_id) is None:
                raise EnrollmentRefused(404, "not_found", f"no restaurant {restaurant_id!r}")
            return records.create_code(conn, restaurant_id, codes.code_hash(codes.normalize(code)),
                                       minutes=minutes, replaces=replaces, now=records.now_utc())
        view = await self._tx(work)
        log.info("enrollment code made restaurant=%s id=%s replaces=%s", restaurant_id, view["id"], replaces)
        return code, view

    async def list_codes(self, restaurant_id: str) -> list[dict[str, Any]]:
        return await self._tx(lambda conn: records.list_codes(conn, restaurant_id, records.now_utc()))

    async def cancel_code(self, code_id: str) -> dict[str, Any] | None:
        return await self._tx(lambda conn: records.cancel_code(conn, code_id, records.now_utc()))

    # --- the box's side ---

    async def enroll(self, code_text: str, csr_pem: str, signing_key: str) -> dict[str, Any]:
        normalized = codes.normalize(code_text)
        csr = _csr(csr_pem)
        try:
            load_public_key(signing_key)
        except (PayLinkError, ValueError):
            raise EnrollmentRefused(422, "invalid", "signing_key: not an Ed25519 public key "
                                                    "(the agent's pay-link key)") from None
        if normalized is None:
            raise EnrollmentRefused(403, "invalid_code", INVALID_CODE)
        ca = await self.ca()
        agent_id = new_agent_id()
        now = records.now_utc()
        cert = ca.issue_client(csr, agent_id, self._config.cert_days, now)

        def work(conn: Connection) -> dict[str, Any]:
            code = records.redeem(conn, codes.code_hash(normalized), agent_id, now)
            if code is None:
                raise EnrollmentRefused(403, "invalid_code", INVALID_CODE)
            restaurant = payment_records.restaurant(conn, code["restaurant_id"])
            replaced = []
            if code["replaces"]:
                for old in records.agents_of(conn, restaurant["id"]):
                    if records.revoke_agent(conn, old, f"replaced by {agent_id}", now):
                        replaced.append(old)
            records.add_agent(conn, agent_id, name=restaurant["name"], now=now, restaurant_id=restaurant["id"],
                              public_key=signing_key)
            records.record_certificate(conn, agent_id, cert.serial_number, cert.not_valid_before_utc,
                                       cert.not_valid_after_utc, now)
            return {"restaurant": {"id": restaurant["id"], "name": restaurant["name"]}, "replaced": replaced}
        done = await self._tx(work)
        log.info("agent enrolled agent=%s restaurant=%s replaced=%s", agent_id, done["restaurant"]["id"],
                 ",".join(done["replaced"]) or "-")
        if done["replaced"]:
            await self.revoked_changed(done["replaced"])
        return {"agent_id": agent_id, **done, **self._credentials(ca, cert)}

    async def renew(self, cert_pem: str, csr_pem: str, signed_at: str, signature: str) -> dict[str, Any]:
        """A new certificate for the agent holding `cert_pem`'s key, still valid and not revoked."""
        ca = await self.ca()
        csr = _csr(csr_pem)
        try:
            current = x509.load_pem_x509_certificate(cert_pem.encode())
            ca.verify_issued(current)
        except ValueError as exc:
            raise EnrollmentRefused(403, "forbidden", f"certificate: {exc}") from None
        agent_id = current.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        _check_proof(current, renewal_message(csr_pem, signed_at), signed_at, signature)
        now = records.now_utc()

        def work(conn: Connection) -> x509.Certificate:
            known = records.certificate(conn, current.serial_number)
            if known is None or known["agent_id"] != agent_id or known["revoked_at"] is not None \
                    or records.admission(conn, agent_id) != "enrolled":
                raise EnrollmentRefused(403, "forbidden", "this certificate is revoked or unknown: pair the box again")
            cert = ca.issue_client(csr, agent_id, self._config.cert_days, now)
            records.record_certificate(conn, agent_id, cert.serial_number, cert.not_valid_before_utc,
                                       cert.not_valid_after_utc, now)
            return cert
        cert = await self._tx(work)
        log.info("certificate renewed agent=%s serial=%x until=%s", agent_id, cert.serial_number,
                 cert.not_valid_after_utc.isoformat())
        return {"agent_id": agent_id, **self._credentials(ca, cert)}

    def _credentials(self, ca: CertificateAuthority, cert: x509.Certificate) -> dict[str, Any]:
        cfg = self._config
        return {"certificate": pem(cert), "ca_certificate": ca.cert_pem,
                "certificate_expires_at": cert.not_valid_after_utc.isoformat(),
                "broker": {"host": cfg.agent_broker_host, "port": cfg.agent_broker_port, "tls": cfg.agent_broker_tls},
                "hub_url": cfg.public_url}

    # --- revocation ---

    async def revoke(self, agent_id: str, reason: str = "revoked by the operator") -> bool:
        done = await self._tx(lambda conn: records.revoke_agent(conn, agent_id, reason, records.now_utc()))
        if done:
            log.warning("agent revoked agent=%s reason=%s", agent_id, reason)
            await self.revoked_changed([agent_id])
        return done

    async def revoked_changed(self, agent_ids: list[str]) -> None:
        """Re-sign the CRL at once (on_crl_change makes the broker reread it), then let the
        operator's hook drop the revoked agents' live connections: it is told which in
        TABLESIDE_REVOKED_AGENTS (packaging/mosquitto/kick_revoked.py)."""
        if self._on_revoked is not None:
            for agent_id in agent_ids:
                self._on_revoked(agent_id)
        await crl.publish(await self.ca(), self._engine, self._config)
        if self._config.on_revoke:
            await crl.run_hook("on_revoke", self._config.on_revoke, {REVOKED_AGENTS_ENV: " ".join(agent_ids)})


def _csr(csr_pem: str) -> x509.CertificateSigningRequest:
    try:
        return load_csr(csr_pem)
    except CsrRefused as exc:
        raise EnrollmentRefused(422, "invalid", str(exc)) from None


def _check_proof(cert: x509.Certificate, message: bytes, signed_at: str, signature: str) -> None:
    try:
        when = datetime.fromisoformat(signed_at)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        raise EnrollmentRefused(422, "invalid", "signed_at: expected an ISO 8601 time with its zone") from None
    if abs(datetime.now(UTC) - when) > RENEW_PROOF_WINDOW:
        raise EnrollmentRefused(403, "forbidden", "signed_at: too far from the hub's clock (check the box's time)")
    key = cert.public_key()
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        key.verify(base64.b64decode(signature, validate=True), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise EnrollmentRefused(403, "forbidden", "signature: not made by this certificate's key") from None
