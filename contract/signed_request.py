"""An HTTP request an agent signs with its TLS key (ECDSA P-256), so the hub knows which enrolled
box sent it without a bearer secret: backups going up and coming down (agent/backup, hub/backups).

The agent sends its certificate and a signature over the method, the path, the time and the
body's SHA-256; the hub checks the certificate against its CA and its records, the time against
its clock, and the signature against the certificate's key. Nothing here imports either side.
"""

import base64
import hashlib
from datetime import UTC, datetime

CERTIFICATE = "X-Tableside-Certificate"  # the agent's certificate, PEM, base64 (headers hold one line)
SIGNED_AT = "X-Tableside-Signed-At"  # ISO 8601 with its zone
SIGNATURE = "X-Tableside-Signature"  # base64 of the DER ECDSA-SHA256 signature
WINDOW_S = 300  # a signed request is good this long either side of the hub's clock


def message(method: str, path: str, signed_at: str, body: bytes) -> bytes:
    """What is signed: one request, at one time, with exactly this body."""
    digest = hashlib.sha256(body).hexdigest()
    return f"tableside-request\n{method.upper()}\n{path}\n{signed_at}\n{digest}".encode()


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def encode_certificate(cert_pem: bytes) -> str:
    return base64.b64encode(cert_pem).decode()


def decode_certificate(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
