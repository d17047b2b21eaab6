"""Read a histogram from Prometheus text exposition and estimate its quantiles."""

import math
import re
from dataclasses import dataclass

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LE = re.compile(r'le="(?P<le>[^"]+)"')


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts by upper bound, summed over every label set."""

    name: str
    buckets: tuple[tuple[float, float], ...]
    count: float
    total: float

    def quantile(self, q: float) -> float:
        """Estimate the q-quantile by linear interpolation inside its bucket.

        This is what Prometheus' histogram_quantile does: the estimate is exact only at
        bucket bounds, so its error is at most the width of the bucket it falls in. A
        quantile in the +Inf bucket returns the highest finite bound.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"invalid quantile {q}; expected 0 to 1")
        if self.count == 0:
            return math.nan
        rank = q * self.count
        lower_bound, lower_count = 0.0, 0.0
        for bound, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(bound):
                    return lower_bound
                if cumulative == lower_count:
                    return bound
                share = (rank - lower_count) / (cumulative - lower_count)
                return lower_bound + (bound - lower_bound) * share
            lower_bound, lower_count = bound, cumulative
        return lower_bound


def parse_histogram(text: str, name: str) -> Histogram | None:
    """Return histogram `name` from Prometheus text, or None if the text has no such one."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    found = False
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        sample, labels, value = match["name"], match["labels"] or "", float(match["value"])
        if sample == f"{name}_bucket":
            le = _LE.search(labels)
            if le is None:
                continue
            bound = float(le["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
            found = True
        elif sample == f"{name}_count":
            count += value
        elif sample == f"{name}_sum":
            total += value
    if not found:
        return None
    return Histogram(name=name, buckets=tuple(sorted(buckets.items())), count=count, total=total)


def histogram_names(text: str) -> list[str]:
    """Return the names of every histogram declared in the text."""
    names = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"] and parts[3] == "histogram":
            names.append(parts[2])
    return names
