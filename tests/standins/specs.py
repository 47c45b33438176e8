"""Where the vendors' own API descriptions are: `shared/specs/` beside the checkout (as the
project is laid out: ../shared/specs), in any folder above it, or TABLESIDE_SPECS_DIR."""

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    if os.environ.get("TABLESIDE_SPECS_DIR"):
        return Path(os.environ["TABLESIDE_SPECS_DIR"])
    for folder in _REPO.parents:
        candidate = folder / "shared" / "specs"
        if candidate.is_dir():
            return candidate
    return _REPO.parent / "shared" / "specs"  # not found: the stand-ins say so with this path
