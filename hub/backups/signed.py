"""Which enrolled box signed a request (contract/signed_request.py).

The certificate must be the hub CA's, valid now, recorded for the agent id it names and not
revoked, its agent enrolled and not revoked; the time within the window of the hub's clock; the
signature over this method, path, time and body made by the certificate's key. Every refusal is
a 401 or 403 that says which of these failed.
"""

import base64
import binascii
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from contract import signed_request
from hub.enrollment import records
from hub.enrollment.ca import CertificateAuthority


class NotSigned(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def check(ca: CertificateAuthority, engine: Engine, method: str, path: str, headers, body: bytes) -> str:
    """The agent id that signed; NotSigned otherwise. Blocking (one query): run it on a thread."""
    try:
        cert_text, signed_at, signature = (headers[signed_request.CERTIFICATE], headers[signed_request.SIGNED_AT],
                                           headers[signed_request.SIGNATURE])
    except KeyError as exc:
        raise NotSigned(401, "unauthorized", f"{exc.args[0]}: missing; this request must be signed by the "
                                             "agent's key (contract/signed_request.py)") from None
    try:
        cert = x509.load_pem_x509_certificate(signed_request.decode_certificate(cert_text))
        ca.verify_issued(cert)
    except (ValueError, binascii.Error) as exc:
        raise NotSigned(403, "forbidden", f"{signed_request.CERTIFICATE}: {exc}") from None
    try:
        when = datetime.fromisoformat(signed_at)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        raise NotSigned(401, "unauthorized", f"{signed_request.SIGNED_AT}: expected an ISO 8601 time with its zone") from None
    if abs(datetime.now(UTC) - when) > timedelta(seconds=signed_request.WINDOW_S):
        raise NotSigned(403, "forbidden", f"{signed_request.SIGNED_AT}: too far from the hub's clock (check the box's time)")
    key = cert.public_key()
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        key.verify(base64.b64decode(signature, validate=True), signed_request.message(method, path, signed_at, body),
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        raise NotSigned(403, "forbidden", f"{signed_request.SIGNATURE}: not made by this certificate's key "
                                          "for this request") from None
    agent_id = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    with engine.connect() as conn:
        known = records.certificate(conn, cert.serial_number)
        admitted = records.admission(conn, agent_id)
    if known is None or known["agent_id"] != agent_id or known["revoked_at"] is not None or admitted != "enrolled":
        raise NotSigned(403, "forbidden", "this certificate is revoked or unknown: pair the box again")
    return agent_id
