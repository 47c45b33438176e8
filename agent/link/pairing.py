"""Pairing the box with the hub: `tableside agent setup`.

The box makes its TLS key (ECDSA P-256, never leaves it, 0600) and sends a CSR with the
installer's one-time code and the public half of its pay-link key over HTTPS. The hub answers
the agent id it chose, a certificate, its CA's certificate and where the broker is. All of it is
written into {data_dir}/link/ at once (a new directory renamed into place), so a refused code,
a lost connection or a crash leaves the box exactly as it was.

    link/pairing.toml     agent id, hub URL, broker, restaurant (agent/config.py reads it)
    link/ca.crt           the hub's CA: the broker's certificate must chain to it
    link/current -> certs/<serial>/{tls.key, agent.crt}   swapped atomically on renewal
"""

import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from agent.link.identity import KEY_FILE, key_pem, load_key, write_private
from agent.paired import HUB_CA_FILE, LINK_DIR, PAIRING_FILE, Pairing, PairingError, read_pairing
from contract.pay_link import public_key_text

TIMEOUT_S = 30.0


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def new_tls_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def csr_for(key: ec.EllipticCurvePrivateKey) -> str:
    """A CSR that only proves the key: the hub decides the name and everything else."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tableside-agent")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def write_cert_generation(link_dir: Path, key: ec.EllipticCurvePrivateKey, cert_pem: str) -> None:
    """Put a key and its certificate in certs/<serial>/ and point link/current at them (one rename)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    generation = link_dir / "certs" / format(cert.serial_number, "x")
    generation.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(generation / "tls.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()), 0o600)
    write_private(generation / "agent.crt", cert_pem.encode(), 0o644)
    link = link_dir / f"current.{os.getpid()}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("certs") / generation.name)
    link.replace(link_dir / "current")


def post_json(url: str, body: dict[str, Any], *, cafile: Path | None = None) -> tuple[int, dict[str, Any]]:
    """POST a JSON body; (status, JSON answer). Raises PairingError when the hub cannot be reached."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PairingError(f"cannot reach the hub at {url}: {reason}") from None


def check_hub_url(hub_url: str) -> str:
    """https://, or http:// to this machine only (the demo): a code and a CSR cross the network."""
    url = hub_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return url
    raise PairingError(f"hub URL {hub_url!r}: expected https://... (plain http only to this machine)")


def check_hub_ca(hub_cafile: Path | None) -> None:
    """--hub-ca must be a readable PEM certificate; PairingError before anything is sent."""
    if hub_cafile is None:
        return
    try:
        x509.load_pem_x509_certificates(Path(hub_cafile).read_bytes())
    except (OSError, ValueError) as exc:
        raise PairingError(f"--hub-ca {hub_cafile}: not a readable PEM certificate ({exc}). Nothing was changed") from None


def pair(data_dir: Path, hub_url: str, code: str, *, re_pair: bool = False,
         hub_cafile: Path | None = None) -> Pairing:
    """Enroll with `code`; the new pairing. PairingError (and nothing written) when it did not work."""
    data_dir = Path(data_dir)
    current = read_pairing(data_dir)
    if current is not None and not re_pair:
        raise PairingError(f"this box is already paired: agent {current.agent_id} of {current.restaurant_name!r} "
                           f"with {current.hub_url} since {current.paired_at}. Nothing was changed. "
                           f"To pair it again (a new code from the operator), add --re-pair")
    hub_url = check_hub_url(hub_url)
    check_hub_ca(hub_cafile)
    signing_key = load_key(data_dir)
    new_signing_key = signing_key is None
    if signing_key is None:
        signing_key = Ed25519PrivateKey.generate()
    tls_key = new_tls_key()
    status, answer = post_json(f"{hub_url}/api/v1/enroll", {
        "code": code, "csr": csr_for(tls_key), "signing_key": public_key_text(signing_key.public_key())},
        cafile=hub_cafile)
    if status != 201:
        message = (answer.get("error") or {}).get("message") or f"the hub answered HTTP {status}"
        raise PairingError(f"the hub refused the pairing: {message}. Nothing was changed on this box")
    try:
        return install(data_dir, hub_url, answer, tls_key, signing_key if new_signing_key else None,
                       hub_cafile=hub_cafile)
    except (KeyError, TypeError, ValueError) as exc:
        raise PairingError(f"the hub's answer is not what this version expects ({exc}); nothing was changed") from None


def install(data_dir: Path, hub_url: str, answer: dict[str, Any], tls_key: ec.EllipticCurvePrivateKey,
            new_signing_key: Ed25519PrivateKey | None, *, hub_cafile: Path | None = None) -> Pairing:
    """Write the hub's answer into link/ at once: a pairing, or a replacement box's claim
    (agent/backup/replace.py), whose answer has the same shape."""
    broker = answer["broker"]
    # the URL that just worked from this box, not the one the hub believes it has
    values = {"agent_id": answer["agent_id"], "hub_url": hub_url,
              "broker_host": broker["host"], "broker_port": int(broker["port"]), "broker_tls": bool(broker["tls"]),
              "restaurant_id": answer["restaurant"]["id"], "restaurant_name": answer["restaurant"]["name"],
              "paired_at": datetime.now(UTC).isoformat(timespec="seconds")}
    x509.load_pem_x509_certificate(answer["ca_certificate"].encode())  # both must parse before anything is written
    x509.load_pem_x509_certificate(answer["certificate"].encode())
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    link_dir = data_dir / LINK_DIR
    staging = data_dir / f"{LINK_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    write_cert_generation(staging, tls_key, answer["certificate"])
    write_private(staging / "ca.crt", answer["ca_certificate"].encode(), 0o644)
    if hub_cafile is not None:  # it worked for pairing: renewal and backups check the hub with it too
        write_private(staging / HUB_CA_FILE, Path(hub_cafile).read_bytes(), 0o644)
    text = "# written by `tableside agent setup`; pair again rather than edit\n" + "".join(
        f"{key} = {_toml_value(value)}\n" for key, value in values.items())
    write_private(staging / PAIRING_FILE, text.encode(), 0o644)
    if new_signing_key is not None:
        write_private(data_dir / KEY_FILE, key_pem(new_signing_key))
    if link_dir.exists():  # re-pairing: keep the old credentials aside, never half of each
        link_dir.replace(data_dir / f"{LINK_DIR}.old-{int(time.time())}")
    staging.replace(link_dir)
    return read_pairing(data_dir)
