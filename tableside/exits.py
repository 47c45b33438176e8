"""Exit codes of `tableside ... run` that say "starting again will not help" (tableside/workers.py)."""

CONFIG_ERROR = 2  # the configuration is wrong
CANNOT_LISTEN = 3  # an address the service must listen on (HTTP, metrics) is taken or not ours
