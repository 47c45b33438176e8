"""The signed pay link: the agent signs a share, the hub checks it and takes the payment.

`pay_url = {hub}/pay/{token}` where token = base64url(payload JSON) "." base64url(Ed25519 signature
of those payload bytes). The hub needs nothing from the agent but its registered public key, so a
diner on mobile data can pay while the restaurant's uplink is down.

Times are the agent's clock (unix seconds); the hub corrects for the agent's clock offset it
measured over the link, so a box whose clock is minutes off does not break payments.
"""

import base64
import binascii

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contract.messages import NonNeg

MAX_TOKEN = 4096  # a share is a few hundred bytes; a bigger token is not ours


class PayLinkError(ValueError):
    """A token that is malformed, not signed by the key given, or otherwise not acceptable."""


class ShareToPay(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    v: int
    agent_id: str
    share_id: str
    bill_id: str
    table_name: str
    currency: str
    amount_minor: NonNeg
    tip_minor: NonNeg
    description: str
    issued_at: int
    expires_at: int
    return_url: str  # the table's page on the agent, for "back to your table"

    @property
    def total_minor(self) -> int:
        return self.amount_minor + self.tip_minor


VERSION = 1
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ShareToPay)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(_unb64(text))
    except (ValueError, binascii.Error) as exc:
        raise PayLinkError(f"not an Ed25519 public key: {exc}") from None


def sign(share: ShareToPay, key: Ed25519PrivateKey) -> str:
    payload = _encoder.encode(share)
    return f"{_b64(payload)}.{_b64(key.sign(payload))}"


def peek(token: str) -> ShareToPay:
    """The payload, NOT verified: only to find which agent's key to check it with."""
    return _parse(token)[0]


def verify(token: str, key: Ed25519PublicKey) -> ShareToPay:
    """The share, if `key` signed exactly this payload; PayLinkError otherwise."""
    share, payload, signature = _parse(token)
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        raise PayLinkError("the pay link's signature does not match: it was altered or not issued by this "
                           "restaurant") from None
    return share


def _parse(token: str) -> tuple[ShareToPay, bytes, bytes]:
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise PayLinkError("malformed pay link")
    head, tail = token.split(".")
    try:
        payload, signature = _unb64(head), _unb64(tail)
        share = _decoder.decode(payload)
    except (ValueError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PayLinkError(f"malformed pay link: {exc}") from None
    if share.v != VERSION:
        raise PayLinkError(f"unsupported pay link version {share.v}")
    return share, payload, signature
