"""Enrollment over the hub's HTTP API: codes, the box's request, what the hub decides, revocation."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select, update

from contract import topics
from hub.app import create_app
from hub.appkeys import LINK, STORE
from hub.config import HubConfig
from hub.enrollment.service import renewal_message
from hub.store.enrollment_tables import enrollment_codes
from hub.store.tables import agents
from hub.web import enrollment_api
from tests.hub.enrollment.helpers import AUTH, code_for, csr, enroll_body, restaurant
from tests.hub.factories import TOKEN, encoded, order_placed
from tests.services import free_port


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    app = create_app(HubConfig(data_dir=tmp_path / "data", operator_token=TOKEN, broker_port=free_port(),
                               agent_broker_host="mqtt.example.com", agent_broker_port=8883, agent_broker_tls=True))
    return await aiohttp_client(app)


async def enroll(client, body):
    return await client.post("/api/v1/enroll", json=body)


def cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


async def test_a_code_pairs_one_box_with_what_the_hub_decides(client, tmp_path):
    rid = await restaurant(client)
    made = await code_for(client, rid)
    assert len(made["code"]) == 9 and made["code"][4] == "-" and made["state"] == "active"
    # the box asks for another name and for CA rights: both ignored
    key = ec.generate_private_key(ec.SECP256R1())
    body = enroll_body(made["code"].lower().replace("-", " "), csr=csr(key, name="hub-1", ask_ca=True))
    signing_key = body["signing_key"]
    resp = await enroll(client, body)
    assert resp.status == 201, await resp.text()
    answer = await resp.json()
    agent_id = answer["agent_id"]
    assert agent_id.startswith("agt-") and agent_id != "hub-1"
    assert answer["restaurant"] == {"id": rid, "name": "Brasserie Lumiere"}
    assert answer["broker"] == {"host": "mqtt.example.com", "port": 8883, "tls": True}
    cert = x509.load_pem_x509_certificate(answer["certificate"].encode())
    ca = x509.load_pem_x509_certificate(answer["ca_certificate"].encode())
    cert.verify_directly_issued_by(ca)
    assert cn(cert) == agent_id
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    lifetime = cert.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    # the CA's key is the hub user's only
    assert (tmp_path / "data" / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600

    # used: the same answer as a code that never was
    again = await enroll(client, enroll_body(made["code"]))
    wrong = await enroll(client, enroll_body("AAAA-AAAA"))
    assert again.status == wrong.status == 403
    assert (await again.json()) == (await wrong.json())
    listed = await (await client.get(f"/api/v1/restaurants/{rid}/enrollment-codes", headers=AUTH)).json()
    assert [(c["state"], c["used_by"]) for c in listed["codes"]] == [("used", agent_id)]
    assert made["code"] not in str(listed) and "code_hash" not in str(listed)
    # the restaurant knows its box, and the hub has its pay-link key from the same exchange
    restaurant_view = await (await client.get(f"/api/v1/restaurants/{rid}", headers=AUTH)).json()
    assert agent_id in restaurant_view["agent_ids"]
    with client.app[STORE].engine.connect() as conn:
        assert conn.execute(select(agents.c.public_key).where(agents.c.id == agent_id)).scalar_one() == \
            signing_key


async def test_expired_and_cancelled_codes_are_refused_and_burn_nothing(client):
    rid = await restaurant(client)
    first = await code_for(client, rid)
    second = await code_for(client, rid)
    third = await code_for(client, rid)
    store = client.app[STORE]
    with store.engine.begin() as conn:
        conn.execute(update(enrollment_codes).where(enrollment_codes.c.id == first["id"])
                     .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    resp = await client.delete(f"/api/v1/enrollment-codes/{second['id']}", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["state"] == "cancelled"
    for made in (first, second):
        resp = await enroll(client, enroll_body(made["code"]))
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_code"
    # a bad CSR or key is refused before the code is touched: the code still works afterwards
    for bad in ({"csr": "not a csr"}, {"signing_key": "nope"},
                {"csr": csr(ec.generate_private_key(ec.SECP384R1()))}):
        resp = await enroll(client, enroll_body(third["code"], **bad))
        assert resp.status == 422, await resp.text()
    resp = await enroll(client, enroll_body(third["code"]))
    assert resp.status == 201
    with store.engine.connect() as conn:
        enrolled = conn.execute(select(agents.c.id).where(agents.c.enrolled_at.is_not(None))).scalars().all()
    assert enrolled == [(await resp.json())["agent_id"]]


async def test_guessing_codes_is_cut_off(client):
    await restaurant(client)
    for _ in range(enrollment_api.FAILURES_PER_CLIENT):
        assert (await enroll(client, enroll_body("ZZZZ-ZZZZ"))).status == 403
    resp = await enroll(client, enroll_body("ZZZZ-ZZZZ"))
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0


async def test_a_replacement_box_takes_over_and_the_old_one_is_revoked(client, tmp_path):
    rid = await restaurant(client)
    old = await (await enroll(client, enroll_body((await code_for(client, rid))["code"]))).json()
    link = client.app[LINK]
    assert await link.process(topics.up(old["agent_id"], "order.placed"), encoded(old["agent_id"], order_placed()))
    new = await (await enroll(client, enroll_body((await code_for(client, rid, replaces=True))["code"]))).json()
    old_cert = x509.load_pem_x509_certificate(old["certificate"].encode())
    crl = x509.load_pem_x509_crl((tmp_path / "data" / "ca" / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(old_cert.serial_number) is not None
    new_cert = x509.load_pem_x509_certificate(new["certificate"].encode())
    assert crl.get_revoked_certificate_by_serial_number(new_cert.serial_number) is None
    with client.app[STORE].engine.connect() as conn:
        revoked = dict(conn.execute(select(agents.c.id, agents.c.revoked_at)).all())
    assert revoked[old["agent_id"]] is not None and revoked[new["agent_id"]] is None
    # and on the link at once (this worker forgets its cached verdict): the new box's orders are
    # applied, the old box's refused and never acked
    for agent_id, acked in ((new["agent_id"], True), (old["agent_id"], False)):
        order = order_placed()
        answer = await link.process(topics.up(agent_id, "order.placed"), encoded(agent_id, order))
        assert (answer is not None) is acked
        assert (await client.app[STORE].get_order(order.order_id) is not None) is acked


async def test_renewal_needs_the_current_certificates_key(client):
    rid = await restaurant(client)
    key = ec.generate_private_key(ec.SECP256R1())
    first = await (await enroll(client, enroll_body((await code_for(client, rid))["code"], csr=csr(key)))).json()
    new_key = ec.generate_private_key(ec.SECP256R1())
    new_csr = csr(new_key)
    signed_at = datetime.now(UTC).isoformat()

    def body(signer):
        signature = signer.sign(renewal_message(new_csr, signed_at), ec.ECDSA(hashes.SHA256()))
        return {"certificate": first["certificate"], "csr": new_csr, "signed_at": signed_at,
                "signature": base64.b64encode(signature).decode()}
    stranger = await client.post("/api/v1/enroll/renew", json=body(ec.generate_private_key(ec.SECP256R1())))
    assert stranger.status == 403
    resp = await client.post("/api/v1/enroll/renew", json=body(key))
    assert resp.status == 200, await resp.text()
    renewed = x509.load_pem_x509_certificate((await resp.json())["certificate"].encode())
    assert cn(renewed) == first["agent_id"]
    assert renewed.public_key().public_numbers() == new_key.public_key().public_numbers()
    # revoked: no more renewals
    assert (await client.post(f"/api/v1/agents/{first['agent_id']}/revoke", headers=AUTH)).status == 200
    resp = await client.post("/api/v1/enroll/renew", json=body(key))
    assert resp.status == 403


async def test_operator_routes_need_the_token(client):
    rid = await restaurant(client)
    for method, path in (("post", f"/api/v1/restaurants/{rid}/enrollment-codes"),
                         ("get", f"/api/v1/restaurants/{rid}/enrollment-codes"),
                         ("delete", "/api/v1/enrollment-codes/x"), ("post", "/api/v1/agents/x/revoke")):
        assert (await getattr(client, method)(path)).status == 401
    resp = await client.post("/api/v1/restaurants/nope/enrollment-codes", headers=AUTH)
    assert resp.status == 404
