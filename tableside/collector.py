"""The garbage collector of a long-running service, settled once it has started.

What start-up made (modules, the app, the menu) lives as long as the process, yet every full
collection walked all of it again: under the order bench one took up to 80-97 ms, a pause every
request in flight waited out (bench/README.md, "Orders, fourth pass"). Freezing it moves it out of
the collector's sight; what is made later is collected as before.
"""

import gc
import os


def settle() -> None:
    """Freeze what start-up left alive. TABLESIDE_GC=default leaves the collector as Python sets it
    (for a bench's A/B)."""
    if os.environ.get("TABLESIDE_GC", "settled") == "default":
        return
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
