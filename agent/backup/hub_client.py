"""The hub's backup API from the box: blocking HTTPS calls (urllib), run on a thread by the running
agent and directly by `tableside agent setup --replace`.

Uploads and downloads are signed with the box's TLS key (agent/backup/signing.py); claiming a
replacement is authenticated by the operator's one-time replacement code, like pairing.
"""

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent.backup.signing import headers_for

TIMEOUT_S = 120.0  # a backup of a few megabytes over a restaurant's uplink


class HubUnavailable(RuntimeError):
    """The hub could not be reached or did not answer: try again later."""


class HubRefused(RuntimeError):
    """The hub answered with a refusal; the message is the hub's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Credentials:
    """Who the box is at the hub: its TLS key and certificate (from link/, or just issued)."""

    key_pem: bytes
    cert_pem: bytes
    hub_cafile: Path | None = None  # a private CA for the hub's HTTPS (--hub-ca at pairing); None: the system's


def backups_path(agent_id: str, name: str | None = None, suffix: str = "") -> str:
    path = f"/api/v1/agents/{quote(agent_id, safe='')}/backups"
    return path + (f"/{quote(name, safe='')}" if name else "") + suffix


def _request(hub_url: str, method: str, path: str, body: bytes = b"", *, headers: dict[str, str] | None = None,
             signer: Credentials | None = None, cafile: Path | None = None) -> tuple[int, bytes, dict[str, str]]:
    all_headers = dict(headers or {})
    if signer is not None:
        all_headers.update(headers_for(signer.key_pem, signer.cert_pem, method, path, body))
    request = urllib.request.Request(hub_url.rstrip("/") + path, data=body if method != "GET" else None,
                                     method=method, headers=all_headers)
    cafile = cafile or (signer.hub_cafile if signer is not None else None)
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        raw = exc.read() or b""
        try:
            error = json.loads(raw).get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        raise HubRefused(exc.code, error.get("code", f"http_{exc.code}"),
                         error.get("message") or f"the hub answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HubUnavailable(f"cannot reach the hub at {hub_url}: {getattr(exc, 'reason', exc)}") from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise HubUnavailable("the hub's answer is not JSON") from None


def upload(hub_url: str, signer: Credentials, agent_id: str, name: str, blob: bytes, header: dict[str, Any]) -> dict:
    meta = {"X-Tableside-Backup-Created-At": header["created_at"], "X-Tableside-Backup-Key-Id": header["key_id"],
            "X-Tableside-Backup-Outbox-Seq": str(header["outbox_seq"]),
            "Content-Type": "application/octet-stream"}
    _, raw, _ = _request(hub_url, "PUT", backups_path(agent_id, name), blob, headers=meta, signer=signer)
    return _json(raw)


def list_remote(hub_url: str, signer: Credentials, agent_id: str) -> list[dict]:
    _, raw, _ = _request(hub_url, "GET", backups_path(agent_id), signer=signer)
    return _json(raw)["backups"]


def download(hub_url: str, signer: Credentials, agent_id: str, name: str) -> bytes:
    _, raw, _ = _request(hub_url, "GET", backups_path(agent_id, name), signer=signer)
    return raw


def restored(hub_url: str, signer: Credentials, agent_id: str, body: dict[str, Any]) -> dict:
    """Tell the hub this box now runs from a backup ({backup_created_at, outbox_seq}): it sends again
    what it sent the dead box since then, and answers what it knows of the gap (the orders it has
    from then on, the highest seq it applied, when it last heard from the dead box)."""
    path = f"/api/v1/agents/{quote(agent_id, safe='')}/restored"
    _, raw, _ = _request(hub_url, "POST", path, json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"}, signer=signer)
    return _json(raw)


def claim(hub_url: str, body: dict[str, Any], *, cafile: Path | None = None) -> dict:
    """A replacement box takes over an agent id with the operator's replacement code."""
    _, raw, _ = _request(hub_url, "POST", "/api/v1/backups/claim", json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"}, cafile=cafile)
    return _json(raw)
