import random

from hub.backoff import Backoff


def test_doubles_to_the_cap_with_jitter_and_resets():
    backoff = Backoff(0.5, 30.0, rng=random.Random(1))
    ceilings = [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    for ceiling in ceilings:
        assert ceiling / 2 <= backoff.next() <= ceiling
    for _ in range(100):
        assert backoff.next() <= 30
    backoff.reset()
    assert backoff.next() <= 0.5


def test_jitter_spreads_delays():
    delays = {round(Backoff(rng=random.Random(seed)).next(), 6) for seed in range(20)}
    assert len(delays) > 10
