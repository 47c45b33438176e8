"""The hub's certificate authority: it signs agents' client certificates, the broker's server
certificate and the revocation list (CRL) that the broker checks at every TLS handshake.

The key lives on disk, readable by the hub's user only (0600), in a directory of its own
(`[ca] dir`, by default {data_dir}/ca); a platform with its own CA points the hub at that
directory instead. Several workers share it: the first to start makes it, under a file lock.

What goes into a certificate is decided here, never taken from the request: a CSR only brings
its public key (and proves it holds the private half by its signature). Its subject, extensions
and any CA rights it asks for are ignored.
"""

import contextlib
import fcntl
import ipaddress
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_FILE = "ca.key"
CERT_FILE = "ca.crt"
CA_YEARS = 10
CLOCK_SKEW = timedelta(minutes=5)  # a certificate is valid from a little before now: boxes' clocks drift


class CsrRefused(ValueError):
    """The CSR is not something we sign (unreadable, a bad signature, a key that is not EC P-256)."""


@dataclass(frozen=True)
class Revoked:
    serial: int
    revoked_at: datetime


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)  # private from the first byte
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    """A CSR we are willing to sign: PEM, self-signed correctly, an EC P-256 key."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except (ValueError, TypeError):
        raise CsrRefused("csr: not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise CsrRefused("csr: its signature does not match its key")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CsrRefused("csr: the key must be ECDSA P-256")
    return csr


class CertificateAuthority:
    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self.cert = cert

    @classmethod
    def open(cls, directory: Path, name: str = "Tableside hub CA") -> "CertificateAuthority":
        """The CA in `directory`, made there if it holds none yet."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(directory):
            key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
            if not key_path.exists():
                key = ec.generate_private_key(ec.SECP256R1())
                cert = _self_signed(key, name)
                write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
                write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path}: expected an EC private key")
            return cls(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue_client(self, csr: x509.CertificateSigningRequest, agent_id: str, days: float,
                     now: datetime | None = None) -> x509.Certificate:
        """A client certificate for `agent_id` (its CN, which the broker takes as the username) on
        the CSR's key, for TLS client authentication only, never a CA."""
        return self._issue(csr.public_key(), agent_id, days, now, server_names=())

    def issue_server(self, public_key: ec.EllipticCurvePublicKey, names: Iterable[str], days: float,
                     now: datetime | None = None) -> x509.Certificate:
        """The broker's certificate: the agents check it against this CA."""
        names = list(names)
        return self._issue(public_key, names[0], days, now, server_names=names)

    def _issue(self, public_key, common_name: str, days: float, now: datetime | None,
               server_names: Iterable[str]) -> x509.Certificate:
        now = now or datetime.now(UTC)
        server_names = list(server_names)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=bool(server_names),
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        if server_names:
            builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in server_names]),
                                            critical=False)
        return builder.sign(self._key, hashes.SHA256())

    def crl(self, revoked: Iterable[Revoked], days: float, now: datetime | None = None) -> x509.CertificateRevocationList:
        """The revocation list, valid for `days`: re-sign it well before then (hub/enrollment/crl.py),
        or the broker refuses every agent."""
        now = now or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - CLOCK_SKEW)
            .next_update(now + timedelta(days=days))
            # a number that only grows, without a counter to keep: milliseconds since the epoch
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        )
        for entry in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at).build())
        return builder.sign(self._key, hashes.SHA256())

    def verify_issued(self, cert: x509.Certificate, now: datetime | None = None) -> None:
        """Raise ValueError unless `cert` was signed by this CA and is valid now."""
        now = now or datetime.now(UTC)
        try:
            cert.verify_directly_issued_by(self.cert)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise ValueError("certificate was not issued by this hub") from exc
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ValueError("certificate is expired or not yet valid")


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _self_signed(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} {secrets.token_hex(4)}")])
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def pem(cert: x509.Certificate | x509.CertificateRevocationList) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
