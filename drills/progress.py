"""One line per step on standard error, so a long drill shows where it is."""

from __future__ import annotations

import sys
import time

_START = time.monotonic()


def step(drill: str, message: str) -> None:
    """Print message for drill with the seconds elapsed since the program started."""
    elapsed = time.monotonic() - _START
    print(f"drills: [{elapsed:6.1f}s] {drill}: {message}", file=sys.stderr, flush=True)
