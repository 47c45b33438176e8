"""The hub's side of backups: only the enrolled box that signed may store and fetch its own, the
count per agent is bounded, and a replacement claim refuses what it must before using the code."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agent.backup.signing import headers_for
from contract import signed_request
from hub.app import create_app
from hub.config import HubConfig
from tests.hub.enrollment.helpers import AUTH, code_for, csr, enroll_body, restaurant
from tests.hub.factories import TOKEN
from tests.services import free_port

KEY_ID = "0123456789abcdef"


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(HubConfig(data_dir=tmp_path / "data", operator_token=TOKEN,
                                                     broker_port=free_port(), backups_keep=3)))


async def enrolled(client, rid: str) -> tuple[str, bytes, bytes]:
    """A box paired with the hub: (agent id, its TLS key, its certificate), as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    code = (await code_for(client, rid))["code"]
    resp = await client.post("/api/v1/enroll", json=enroll_body(code, csr=csr(key)))
    assert resp.status == 201, await resp.text()
    answer = await resp.json()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return answer["agent_id"], key_pem, answer["certificate"].encode()


def meta(n: int) -> dict:
    return {"X-Tableside-Backup-Created-At": f"2026-12-02T10:00:0{n}+00:00", "X-Tableside-Backup-Key-Id": KEY_ID,
            "X-Tableside-Backup-Outbox-Seq": str(10 + n)}


async def put(client, agent_id, name, body, signer, n=0):
    path = f"/api/v1/agents/{agent_id}/backups/{name}"
    headers = {**meta(n), **(headers_for(*signer, "PUT", path, body) if signer else {})}
    return await client.put(path, data=body, headers=headers)


async def test_only_the_box_that_signed_stores_and_fetches_its_own(client):
    rid = await restaurant(client)
    agent_id, key, cert = await enrolled(client, rid)
    other_id, other_key, other_cert = await enrolled(client, rid)

    unsigned = await put(client, agent_id, "b1.tsb", b"sealed", None)
    assert unsigned.status == 401 and signed_request.CERTIFICATE in (await unsigned.json())["error"]["message"]
    foreign = await put(client, agent_id, "b1.tsb", b"sealed", (other_key, other_cert))
    assert foreign.status == 403 and other_id in (await foreign.json())["error"]["message"]
    # the signature covers the body: another body under the same headers is refused
    path = f"/api/v1/agents/{agent_id}/backups/b1.tsb"
    headers = {**meta(0), **headers_for(key, cert, "PUT", path, b"sealed")}
    swapped = await client.put(path, data=b"forged", headers=headers)
    assert swapped.status == 403 and "not made by this certificate's key" in (await swapped.json())["error"]["message"]
    # a key that is not the certificate's
    stranger = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert (await put(client, agent_id, "b1.tsb", b"sealed", (stranger, cert))).status == 403
    bad_name = await put(client, agent_id, "..%2Fescape", b"sealed", (key, cert))
    assert bad_name.status in (404, 422)

    for n in range(5):
        stored = await put(client, agent_id, f"b{n}.tsb", f"sealed {n}".encode(), (key, cert), n)
        assert stored.status == 201, await stored.text()
    listed = await (await client.get(f"/api/v1/agents/{agent_id}/backups", headers=AUTH)).json()
    assert [b["name"] for b in listed["backups"]] == ["b4.tsb", "b3.tsb", "b2.tsb"]  # keep = 3, newest first
    assert listed["backups"][0] == {"name": "b4.tsb", "size": 8, "created_at": "2026-12-02T10:00:04+00:00",
                                    "key_id": KEY_ID, "outbox_seq": 14,
                                    "uploaded_at": listed["backups"][0]["uploaded_at"]}

    path = f"/api/v1/agents/{agent_id}/backups/b4.tsb"
    fetched = await client.get(path, headers=headers_for(key, cert, "GET", path, b""))
    assert fetched.status == 200 and await fetched.read() == b"sealed 4"
    theirs = await client.get(path, headers=headers_for(other_key, other_cert, "GET", path, b""))
    assert theirs.status == 403
    assert (await client.get(path, headers=AUTH)).status == 401  # the operator lists, never downloads

    # revoked: the box's certificate no longer opens anything
    assert (await client.post(f"/api/v1/agents/{agent_id}/revoke", headers=AUTH)).status == 200
    assert (await client.get(path, headers=headers_for(key, cert, "GET", path, b""))).status == 403


async def test_a_claim_refuses_before_it_uses_the_code(client):
    rid = await restaurant(client)
    agent_id, key, cert = await enrolled(client, rid)
    claim_key = ec.generate_private_key(ec.SECP256R1())
    claim_csr = csr(claim_key)
    replacement = (await code_for(client, rid, replaces=True))["code"]

    async def claim(**body):
        return await client.post("/api/v1/backups/claim", json={"code": replacement, "csr": claim_csr,
                                                                "key_id": KEY_ID, **body})

    none_held = await claim()
    assert none_held.status == 409 and "--from-file" in (await none_held.json())["error"]["message"]
    this_one = await claim(agent_id=agent_id)  # named, but nothing held to restore from
    assert this_one.status == 409 and "still unused" in (await this_one.json())["error"]["message"]
    assert (await put(client, agent_id, "b1.tsb", b"sealed", (key, cert))).status == 201
    wrong = await claim(key_id="fedcba9876543210")
    assert wrong.status == 422 and (await wrong.json())["error"]["code"] == "wrong_recovery_code"
    fresh_code = (await code_for(client, rid))["code"]
    not_replacing = await client.post("/api/v1/backups/claim", json={"code": fresh_code, "csr": claim_csr,
                                                                     "key_id": KEY_ID})
    assert not_replacing.status == 403 and "replacement" in (await not_replacing.json())["error"]["message"]
    assert (await claim(csr="not a csr")).status == 422
    codes = (await (await client.get(f"/api/v1/restaurants/{rid}/enrollment-codes", headers=AUTH)).json())["codes"]
    assert sorted(c["state"] for c in codes) == ["active", "active", "used"]  # nothing used by a refusal

    taken = await claim()
    assert taken.status == 201, await taken.text()
    answer = await taken.json()
    assert answer["agent_id"] == agent_id and [b["name"] for b in answer["backups"]] == ["b1.tsb"]
    # the dead box's certificate is revoked; the new one opens the backups
    path = f"/api/v1/agents/{agent_id}/backups/b1.tsb"
    assert (await client.get(path, headers=headers_for(key, cert, "GET", path, b""))).status == 403
    new_key = claim_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    fetched = await client.get(path, headers=headers_for(new_key, answer["certificate"].encode(), "GET", path, b""))
    assert fetched.status == 200 and await fetched.read() == b"sealed"
    again = await claim()
    assert again.status == 403 and (await again.json())["error"]["code"] == "invalid_code"
