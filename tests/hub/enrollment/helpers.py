"""Making restaurants, codes and CSRs for the enrollment tests."""

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from contract.pay_link import public_key_text
from tests.hub.factories import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def restaurant(client, name: str = "Brasserie Lumiere") -> str:
    resp = await client.post("/api/v1/restaurants", headers=AUTH, json={
        "name": name, "country": "DE", "currency": "EUR", "fee_plan": {"basis_points": 150}})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def code_for(client, restaurant_id: str, **body) -> dict:
    resp = await client.post(f"/api/v1/restaurants/{restaurant_id}/enrollment-codes", headers=AUTH, json=body)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def csr(key: ec.EllipticCurvePrivateKey, name: str = "tableside-agent", ask_ca: bool = False) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    if ask_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def enroll_body(code: str, **overrides) -> dict:
    body = {"code": code, "csr": csr(ec.generate_private_key(ec.SECP256R1())),
            "signing_key": public_key_text(Ed25519PrivateKey.generate().public_key())}
    return {**body, **overrides}
