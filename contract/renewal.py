"""Certificate renewal, as both sides sign and check it: POST /api/v1/enroll/renew carries the
agent's current certificate, a CSR for its new key, `signed_at` (ISO 8601 with its zone) and an
ECDSA P-256 / SHA-256 signature, base64, by the *current* key over `renewal_message`. The hub
accepts it within a few minutes of its own clock (hub/enrollment/service.py)."""


def renewal_message(csr_pem: str, signed_at: str) -> bytes:
    """What an agent signs with its current key to ask for a new certificate."""
    return f"tableside-renew\n{signed_at}\n".encode() + csr_pem.strip().encode()
