"""Rollout order of a region's cells: a canary alone, then waves that double in size (I7).

A CI pipeline reads the waves from the stack outputs and applies a change to one wave at a
time, checking the health of each wave before it starts the next.
"""

from collections.abc import Sequence

from components.errors import ConfigError


def rollout_waves(cells: Sequence[str], canary: str, max_wave_size: int) -> list[list[str]]:
    """Return the waves: `[canary]` first, then the other cells in order, 1, 2, 4, ... at a time.

    No wave holds more than `max_wave_size` cells, so one bad change reaches a bounded
    number of cells before the pipeline can stop it.
    """
    if canary not in cells:
        raise ConfigError("rollout.canary", canary, "the name of a cell: " + ", ".join(cells))
    if isinstance(max_wave_size, bool) or not isinstance(max_wave_size, int) or max_wave_size < 1:
        raise ConfigError("rollout.max_wave_size", max_wave_size, "an integer of at least 1")

    waves = [[canary]]
    remaining = [cell for cell in cells if cell != canary]
    size = 1
    while remaining:
        waves.append(remaining[:size])
        remaining = remaining[size:]
        size = min(size * 2, max_wave_size)
    return waves
