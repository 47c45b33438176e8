"""Agents' backups at the hub: opaque sealed files the hub cannot read (docs/recovery.md).

    blobs.py    on disk under `[backups] dir`, per agent, the newest `keep` kept
    signed.py   which enrolled box signed a request (its certificate, its key, the hub's records)
    claim.py    a replacement box takes over a dead box's agent id with a replacement code
    gap.py      after a restore: what the hub sent the dead box goes again; what the hub knows since
"""
