"""Backups of the agent: nothing lost when a box dies (docs/recovery.md).

    recovery_code.py   the restaurant's recovery code and the key it derives (AES-256-GCM)
    sealed.py          one backup file: a plaintext header, then the sealed (encrypted) bundle
    snapshot.py        a consistent copy of the live SQLite database (online backup API) and the pay-link key
    rotation.py        which local backups to keep (the newest few, 24 hourly, 7 daily)
    archive.py         the local backup directory (a second disk or a USB stick)
    signing.py         requests to the hub signed with the box's TLS key
    hub_client.py      uploading to the hub and fetching back from it
    service.py         the running agent's schedule: every few minutes and after each settled bill
    catch_up.py        a hub restored from an older backup gets again what it lost (told at each upload)
    restore.py         putting a backup in place of a lost database, all or nothing
    replace.py         `tableside agent setup --replace`: a replacement box takes over from the hub's backups
"""
