"""The backup file and its key: a wrong code and a damaged byte are told apart and both refused;
the local rotation keeps what it says."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.backup import recovery_code, rotation, sealed


def test_codes_read_as_typed_and_derive_one_key():
    code = recovery_code.new_code()
    assert len(code) == 29 and code.count("-") == 4
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert recovery_code.normalize(typed) == code
    assert recovery_code.derive(typed).key == recovery_code.derive(code).key
    assert recovery_code.derive(recovery_code.new_code()).key_id != recovery_code.derive(code).key_id
    assert code not in repr(recovery_code.derive(code))
    with pytest.raises(recovery_code.RecoveryCodeError, match="5 groups of 5"):
        recovery_code.normalize("K7QF-2MXD")


def test_a_sealed_file_opens_only_whole_and_with_its_code():
    key = recovery_code.derive(recovery_code.new_code())
    blob = sealed.seal(b"the bundle" * 100, key, {"agent_id": "agt-1", "created_at": "now", "outbox_seq": 7})
    assert sealed.header_of(blob)["outbox_seq"] == 7 and sealed.header_of(blob)["key_id"] == key.key_id
    assert b"the bundle" not in blob
    assert sealed.open_sealed(blob, key)[1] == b"the bundle" * 100
    with pytest.raises(sealed.WrongRecoveryCode, match="not the one"):
        sealed.open_sealed(blob, recovery_code.derive(recovery_code.new_code()))
    for where in (len(sealed.MAGIC) + 10, len(blob) // 2, len(blob) - 1):  # header, body, tag
        damaged = bytearray(blob)
        damaged[where] ^= 0x20
        with pytest.raises(sealed.BackupUnreadable):
            sealed.open_sealed(bytes(damaged), key)
    with pytest.raises(sealed.BackupDamaged):
        sealed.open_sealed(blob[:-40], key)
    with pytest.raises(sealed.NotABackup):
        sealed.open_sealed(b"SQLite format 3\x00" + blob, key)


def test_rotation_keeps_the_newest_24_hours_and_7_days():
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    times = [start - timedelta(minutes=5 * i) for i in range(12 * 24 * 10)]  # every 5 minutes for 10 days
    kept = rotation.keep(times)
    assert set(sorted(times, reverse=True)[:3]) <= kept
    hours = {(t.date(), t.hour) for t in kept}
    days = {t.date() for t in kept}
    # 24 hourly (back to yesterday 13:00); daily: today and yesterday are in them, 5 older days more
    assert len(days) == 7 and len(hours) == 24 + 5
    for hour in {(t.date(), t.hour) for t in kept}:  # the newest of its hour is the one kept
        newest = max(t for t in times if (t.date(), t.hour) == hour)
        assert newest in kept
    assert len(kept) == 3 + 22 + 5  # 12:00, 11:55 and 11:50; 11:55 is its hour's newest, 11:50 not
