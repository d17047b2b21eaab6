"""Order statistics over latency samples."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Return the nearest-rank p-th percentile of values (p in 0..100).

    The result is always one of the samples: the smallest value such that at least p percent
    of the samples are less than or equal to it. p = 0 returns the minimum.
    """
    if not values:
        raise ValueError("percentile of no values is undefined; pass at least one value")
    if not 0 <= p <= 100:
        raise ValueError(f"invalid percentile {p}: expected a number from 0 to 100")
    ordered = sorted(values)
    # Rounding first keeps float error (0.999 * 1000 = 999.0000000000001) from adding a rank.
    rank = max(1, math.ceil(round(p / 100 * len(ordered), 9)))
    return ordered[rank - 1]
