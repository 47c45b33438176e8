"""Which local backups to keep: the newest few, the newest of each of the last 24 hours that have
one, and the newest of each of the last 7 days. A pure function, so the policy has its own tests."""

from collections.abc import Iterable
from datetime import datetime

RECENT, HOURLY, DAILY = 3, 24, 7


def keep(times: Iterable[datetime], *, recent: int = RECENT, hourly: int = HOURLY, daily: int = DAILY) -> set[datetime]:
    newest_first = sorted(set(times), reverse=True)
    kept = set(newest_first[:recent])
    for bucket_of, count in ((lambda t: (t.date(), t.hour), hourly), (lambda t: t.date(), daily)):
        buckets: set = set()
        for t in newest_first:
            bucket = bucket_of(t)
            if bucket not in buckets:
                if len(buckets) == count:
                    break
                buckets.add(bucket)
                kept.add(t)
    return kept
