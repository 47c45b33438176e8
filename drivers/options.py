"""Driver options come from the config file: one a driver does not know is a mistake to report."""

from typing import Any


def reject_unknown(driver: object, options: dict[str, Any]) -> None:
    """Raise naming every option the driver's constructor did not take."""
    if options:
        raise TypeError(f"{type(driver).__name__} does not understand the option(s): {', '.join(sorted(options))}")
