"""A replacement box takes over a dead box's agent id with the operator's replacement code.

Unlike a fresh pairing (hub/enrollment/service.py, a new agent id), the new box keeps the dead
box's id: the pay links diners already hold name it, the link's seqs continue, and what the hub
still has to send the dead box goes to the new one. The dead box's certificates are revoked (the
CRL drops it at the broker) and the new box's certificate, on its own new key, is recorded, in the
one transaction that uses the code. Before the code is touched: the CSR, the key id of the
recovery code against the backups held (a mistyped recovery code costs nothing), and that the
restaurant has a box to take over.
"""

import asyncio
import logging
import re
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from hub.backups.blobs import BlobStore
from hub.config import HubConfig
from hub.enrollment import codes, records
from hub.enrollment.ca import CsrRefused, load_csr, pem
from hub.enrollment.service import INVALID_CODE, Enrollment, EnrollmentRefused
from hub.payments import records as payment_records
from hub.store.enrollment_tables import agent_certificates, enrollment_codes

log = logging.getLogger(__name__)
KEY_ID = re.compile(r"[0-9a-f]{16}")


def _usable_code(conn: Connection, code_hash: str) -> dict[str, Any] | None:
    now = records.now_utc()
    row = conn.execute(select(enrollment_codes).where(
        enrollment_codes.c.code_hash == code_hash, enrollment_codes.c.used_at.is_(None),
        enrollment_codes.c.cancelled_at.is_(None), enrollment_codes.c.expires_at > now)).mappings().first()
    return dict(row) if row else None


def _pick(blobs: BlobStore, candidates: list[str], asked: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The agent to take over and its backups (newest first)."""
    if asked is not None:
        if asked not in candidates:
            raise EnrollmentRefused(403, "forbidden", f"agent_id: {asked!r} is not a box of this code's restaurant")
        return asked, blobs.listing(asked)
    held = [(agent, blobs.listing(agent)) for agent in candidates]
    held = [(agent, listed) for agent, listed in held if listed]
    if not held:
        raise EnrollmentRefused(409, "no_backups", "the hub holds no backup of this restaurant's boxes: restore "
                                "from a local backup file (--from-file), or pair as a new box (setup --code)")
    return max(held, key=lambda pair: pair[1][0].get("created_at", ""))


async def claim(enrollment: Enrollment, engine: Engine, blobs: BlobStore, config: HubConfig, *, code_text: str,
                csr_pem: str, key_id: str, agent_id: str | None = None, from_hub: bool = True) -> dict[str, Any]:
    """`from_hub`: the box restores from a backup held here (not its own file), so there must be one."""
    normalized = codes.normalize(code_text)
    try:
        csr = load_csr(csr_pem)
    except CsrRefused as exc:
        raise EnrollmentRefused(422, "invalid", str(exc)) from None
    if not KEY_ID.fullmatch(key_id):
        raise EnrollmentRefused(422, "invalid", "key_id: expected 16 hex digits (from the recovery code)")
    if normalized is None:
        raise EnrollmentRefused(403, "invalid_code", INVALID_CODE)
    code_hash = codes.code_hash(normalized)

    def look() -> tuple[dict[str, Any], list[str]]:
        with engine.connect() as conn:
            code = _usable_code(conn, code_hash)
            if code is None:
                raise EnrollmentRefused(403, "invalid_code", INVALID_CODE)
            if not code["replaces"]:
                raise EnrollmentRefused(403, "invalid_code", "this is a code for a new box, not a replacement: "
                                        "ask the operator for a replacement code")
            return code, records.agents_of(conn, code["restaurant_id"])

    code, candidates = await asyncio.to_thread(look)
    chosen, backups = await asyncio.to_thread(_pick, blobs, candidates, agent_id)
    if from_hub and not backups:
        raise EnrollmentRefused(409, "no_backups", f"the hub holds no backup of {chosen}: restore from a local "
                                "backup file (--from-file). The replacement code is still unused")
    if backups and backups[0].get("key_id") != key_id:
        raise EnrollmentRefused(422, "wrong_recovery_code", "this recovery code is not the one this restaurant's "
                                "backups were made with: check it against the printed card. The replacement "
                                "code is still unused")
    ca = await enrollment.ca()
    now = records.now_utc()
    cert = ca.issue_client(csr, chosen, config.cert_days, now)

    def work() -> dict[str, Any]:
        with engine.begin() as conn:
            used = records.redeem(conn, code_hash, chosen, now)
            if used is None:  # used by another request meanwhile
                raise EnrollmentRefused(403, "invalid_code", INVALID_CODE)
            restaurant = payment_records.restaurant(conn, used["restaurant_id"])
            conn.execute(update(agent_certificates).where(
                agent_certificates.c.agent_id == chosen, agent_certificates.c.revoked_at.is_(None))
                .values(revoked_at=now, reason="replaced by a restored box"))
            records.add_agent(conn, chosen, name=restaurant["name"], now=now, restaurant_id=restaurant["id"])
            records.record_certificate(conn, chosen, cert.serial_number, cert.not_valid_before_utc,
                                       cert.not_valid_after_utc, now)
            return {"id": restaurant["id"], "name": restaurant["name"]}

    restaurant = await asyncio.to_thread(work)
    log.warning("agent taken over by a restored box agent=%s restaurant=%s", chosen, restaurant["id"])
    # the CRL at once, and the dead box's live connection (a stolen box, say) dropped: same id, old certificate
    await enrollment.revoked_changed([chosen])
    return {"agent_id": chosen, "restaurant": restaurant, "backups": backups, "certificate": pem(cert),
            "ca_certificate": ca.cert_pem, "certificate_expires_at": cert.not_valid_after_utc.isoformat(),
            "broker": {"host": config.agent_broker_host, "port": config.agent_broker_port,
                       "tls": config.agent_broker_tls},
            "hub_url": config.public_url}
