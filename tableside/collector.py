"""The garbage collector of a long-running service, settled once it has started.

What start-up made (modules, the app, the menu) lives as long as the process, yet every full
collection walked all of it again: under the order bench one took 65-97 ms, a pause every
request in flight waited out (bench/README.md, "Orders, fourth pass"). Freezing it moves it out of
the collector's sight, and a larger first threshold makes the young collections fewer; cycles are
still collected, only less often.
"""

import gc
import os

YOUNG_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)


def settle() -> None:
    """Freeze what start-up left alive and collect the young generation less often.
    TABLESIDE_GC=default leaves the collector as Python sets it (for a bench's A/B)."""
    if os.environ.get("TABLESIDE_GC", "settled") == "default":
        return
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
