"""Requests to the hub signed with the box's TLS key (contract/signed_request.py): the hub knows
the box by its certificate, as the broker does, and no bearer secret is kept on the box."""

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agent.paired import Pairing
from contract import signed_request


def signed_headers(pairing: Pairing, method: str, path: str, body: bytes) -> dict[str, str]:
    """Blocking (reads the key and certificate, which renewal may have swapped): run it on a thread."""
    return headers_for(pairing.keyfile.read_bytes(), pairing.certfile.read_bytes(), method, path, body)


def headers_for(key_pem: bytes, cert_pem: bytes, method: str, path: str, body: bytes) -> dict[str, str]:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the box's TLS key is not an EC key")
    signed_at = signed_request.now_text()
    signature = key.sign(signed_request.message(method, path, signed_at, body), ec.ECDSA(hashes.SHA256()))
    return {signed_request.CERTIFICATE: signed_request.encode_certificate(cert_pem),
            signed_request.SIGNED_AT: signed_at, signed_request.SIGNATURE: base64.b64encode(signature).decode()}
