"""`tableside agent setup --replace`: a new box takes over from a dead one.

With the operator's replacement code the box claims the dead box's agent id at the hub (a new
certificate on its own new TLS key; the dead box's certificates are revoked), fetches the newest
backup that opens with the restaurant's recovery code (a damaged one is skipped, saying so), asks
the hub what it knows since that backup, and only then writes anything: the pairing (link/), the
pay-link key, the database. The recovery code is checked twice before the replacement code is
used: against the backup file given (`--from-file`), and by the hub against the key id of the
backups it holds, so a mistyped recovery code costs nothing.

Same agent id means the same pay links (they name it), the same link sequence and the hub's
messages for the dead box coming to this one. `restore_offline` is the same without a hub.
"""

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from agent.backup import hub_client, recovery_code, restore
from agent.backup.hub_client import Credentials, HubRefused
from agent.backup.restore import Opened, RestoreRefused
from agent.link.pairing import check_hub_url, csr_for, new_tls_key
from agent.link.pairing import install as install_pairing
from agent.paired import Pairing, PairingError


@dataclass
class Replaced:
    backup: str
    backup_created_at: str
    seconds: float
    pairing: Pairing | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (backup, why it was not used)
    gap: dict[str, Any] = field(default_factory=dict)  # what the hub knows after the backup
    missing_orders: list[dict[str, Any]] = field(default_factory=list)  # the hub has them, the backup not


def _refuse_existing(data_dir: Path, force: bool) -> None:
    if (Path(data_dir) / restore.DATABASE).exists() and not force:
        raise RestoreRefused(f"{data_dir} already holds an agent database: this is not a new box. Nothing was "
                             "changed. To replace it with the backup anyway, add --force (it is kept aside)")


def restore_offline(data_dir: Path, candidates: list[tuple[str, bytes]], code: str, *, force: bool = False,
                    config_path: Path | None = None) -> Replaced:
    """From local backup files (newest first: one file, or a backup directory), with no hub: the
    newest that opens is restored, those skipped say why. The box serves diners again; the link
    waits for pairing (`setup --replace --keep-data`)."""
    started = time.monotonic()
    _refuse_existing(data_dir, force)
    skipped: list[tuple[str, str]] = []
    for name, blob in candidates:
        try:
            opened = restore.open_backup(blob, code)
        except RestoreRefused as exc:
            skipped.append((name, str(exc)))
            continue
        restore.install(data_dir, opened, recovery_code.normalize(code), config_path=config_path)
        return Replaced(backup=name, backup_created_at=opened.header.get("created_at", "?"),
                        seconds=time.monotonic() - started, skipped=skipped)
    if len(skipped) == 1:
        raise RestoreRefused(skipped[0][1])
    why = "; ".join(f"{n}: {w}" for n, w in skipped) or "there is none"
    raise RestoreRefused(f"no backup could be restored ({why}). Nothing was written on this box")


def replace(data_dir: Path, hub_url: str, code: str, recovery: str, *, agent_id: str | None = None,
            blob: bytes | None = None, blob_name: str = "", hub_cafile: Path | None = None,
            config_path: Path | None = None, force: bool = False) -> Replaced:
    started = time.monotonic()
    data_dir = Path(data_dir)
    hub_url = check_hub_url(hub_url)
    try:
        recovery = recovery_code.normalize(recovery)
    except recovery_code.RecoveryCodeError as exc:
        raise RestoreRefused(f"{exc}. Nothing was changed") from None
    _refuse_existing(data_dir, force)
    given = restore.open_backup(blob, recovery) if blob is not None else None
    fields: dict[str, Any] = {"from_hub": given is None}
    if given is not None or agent_id:
        fields["agent_id"] = given.header.get("agent_id") if given is not None else agent_id
    tls_key, answer, signer = _claim(hub_url, code, recovery, fields, hub_cafile)
    the_id = answer["agent_id"]
    skipped: list[tuple[str, str]] = []
    opened, name = given, blob_name
    if opened is None:
        opened, name = _newest_that_opens(hub_url, signer, the_id, answer.get("backups", []), recovery, skipped)
    gap = hub_client.restored(hub_url, signer, the_id, {
        "backup_created_at": opened.header.get("created_at"), "outbox_seq": opened.outbox_seq})
    missing = [o for o in gap.get("orders", []) if o.get("id") not in opened.order_ids]
    restore.install(data_dir, opened, recovery, seq_floor=int(gap.get("max_seq") or 0), config_path=config_path)
    pairing = install_pairing(data_dir, hub_url, answer, tls_key, None, hub_cafile=hub_cafile)
    return Replaced(backup=name, backup_created_at=opened.header.get("created_at", "?"),
                    seconds=time.monotonic() - started, pairing=pairing, skipped=skipped, gap=gap,
                    missing_orders=missing)


def pair_restored(data_dir: Path, hub_url: str, code: str, recovery: str, *,
                  hub_cafile: Path | None = None) -> Replaced:
    """A box restored from a file while offline, paired now: it claims the agent id of its backup and
    keeps the data it has served with since (nothing is restored again)."""
    started = time.monotonic()
    data_dir = Path(data_dir)
    hub_url = check_hub_url(hub_url)
    source = restore.restored_from(data_dir)
    if source is None or not (data_dir / restore.DATABASE).exists():
        raise RestoreRefused(f"{data_dir} was not restored from a backup file: --keep-data pairs only such a box. "
                             "Nothing was changed")
    try:
        recovery = recovery_code.normalize(recovery)
    except recovery_code.RecoveryCodeError as exc:
        raise RestoreRefused(f"{exc}. Nothing was changed") from None
    tls_key, answer, signer = _claim(hub_url, code, recovery, {"agent_id": source["agent_id"], "from_hub": False},
                                     hub_cafile)
    gap = hub_client.restored(hub_url, signer, answer["agent_id"], {
        "backup_created_at": source["created_at"], "outbox_seq": source["outbox_seq"]})
    restore.carry_seq(data_dir / restore.DATABASE, int(gap.get("max_seq") or 0), renumber_since=source["restored_at"])
    pairing = install_pairing(data_dir, hub_url, answer, tls_key, None, hub_cafile=hub_cafile)
    with sqlite3.connect(f"file:{data_dir / restore.DATABASE}?mode=ro", uri=True) as db:
        have = {row[0] for row in db.execute("SELECT id FROM orders")}
    return Replaced(backup="the data this box kept since its restore", backup_created_at=source["created_at"],
                    seconds=time.monotonic() - started, pairing=pairing, gap=gap,
                    missing_orders=[o for o in gap.get("orders", []) if o.get("id") not in have])


def _claim(hub_url: str, code: str, recovery: str, fields: dict[str, Any], hub_cafile: Path | None):
    """Claim the dead box's agent id with a new TLS key: (the key, the hub's answer, credentials
    that sign as the new certificate). PairingError, nothing changed, when the hub refuses."""
    tls_key = new_tls_key()
    body = {"code": code, "csr": csr_for(tls_key), "key_id": recovery_code.derive(recovery).key_id, **fields}
    try:
        answer = hub_client.claim(hub_url, body, cafile=hub_cafile)
    except HubRefused as exc:
        raise PairingError(f"the hub refused the replacement: {exc}. Nothing was changed on this box") from None
    signer = Credentials(key_pem=tls_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()),
                         cert_pem=answer["certificate"].encode(), hub_cafile=hub_cafile)
    return tls_key, answer, signer


def _newest_that_opens(hub_url: str, signer: Credentials, agent_id: str, backups: list[dict], recovery: str,
                       skipped: list[tuple[str, str]]) -> tuple[Opened, str]:
    for listed in backups:  # newest first
        name = listed["name"]
        try:
            return restore.open_backup(hub_client.download(hub_url, signer, agent_id, name), recovery), name
        except RestoreRefused as exc:
            skipped.append((name, str(exc)))
    why = "; ".join(f"{n}: {w}" for n, w in skipped) or "the hub holds none"
    raise RestoreRefused(f"no backup of {agent_id} could be restored ({why}). Nothing was written on this box; "
                         "the replacement code is used: ask the operator for a new one once the cause is found")
