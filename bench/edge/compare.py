"""Overheads and ratios between the edge setups, from runs of the same benchmark."""

from statistics import median

POINTS = ("p50", "p90", "p99")
# The architecture's target for local compiled policy: under 1 ms added at p99.
TARGET_P99_OVERHEAD_MS = 1.0


def combine_rounds(runs: list[dict]) -> dict[tuple[int, str], dict]:
    """Return, per (rate, setup), the median over rounds of latency points and CPU."""
    grouped: dict[tuple[int, str], list[dict]] = {}
    for run in runs:
        grouped.setdefault((run["rate_requested"], run["setup"]), []).append(run)
    combined = {}
    for key, group in grouped.items():
        combined[key] = {
            "latency_ms": {p: median(r["latency_ms"][p] for r in group) for p in POINTS},
            "authz_cpu_ms_per_1000": median(
                r["cpu_ms_per_1000_requests"].get("authz", 0.0) for r in group
            ),
            "total_cpu_ms_per_1000": median(r["cpu_ms_per_1000_requests"]["total"] for r in group),
            "rounds": len(group),
            "saturated": any(r.get("saturated", False) for r in group),
        }
    return combined


def compare(runs: list[dict]) -> list[dict]:
    """Return one comparison per request rate: overheads over (a), (d) against (b), targets."""
    combined = combine_rounds(runs)
    comparisons = []
    for rate in sorted({rate for rate, _ in combined}):
        setups = {setup: combined[(rate, setup)] for r, setup in combined if r == rate}
        if not {"a", "b", "c", "d"} <= set(setups):
            continue
        latency = {key: value["latency_ms"] for key, value in setups.items()}
        b_over_a = _difference(latency["b"], latency["a"])
        c_over_a = _difference(latency["c"], latency["a"])
        comparisons.append(
            {
                "rate": rate,
                "latency_ms": latency,
                "overhead_ms": {
                    "b_over_a": b_over_a,
                    "c_over_a": c_over_a,
                    "d_over_a": _difference(latency["d"], latency["a"]),
                },
                "d_minus_b_ms": _difference(latency["d"], latency["b"]),
                "overhead_ratio_c_to_b": {p: _ratio(c_over_a[p], b_over_a[p]) for p in POINTS},
                "authz_cpu_ms_per_1000": {
                    key: setups[key]["authz_cpu_ms_per_1000"] for key in ("b", "c", "d")
                },
                "authz_cpu_ratio_c_to_b": _ratio(
                    setups["c"]["authz_cpu_ms_per_1000"], setups["b"]["authz_cpu_ms_per_1000"]
                ),
                "total_cpu_ms_per_1000": {
                    key: value["total_cpu_ms_per_1000"] for key, value in setups.items()
                },
                # Overheads of a saturated setup measure queueing, not authorization.
                "saturated_setups": sorted(k for k, v in setups.items() if v["saturated"]),
                "targets": {
                    "b_p99_overhead_below_1ms": b_over_a["p99"] < TARGET_P99_OVERHEAD_MS,
                    "b_p99_below_c_p99": latency["b"]["p99"] < latency["c"]["p99"],
                },
            }
        )
    return comparisons


def _difference(left: dict, right: dict) -> dict:
    return {p: left[p] - right[p] for p in POINTS}


def _ratio(numerator: float, denominator: float) -> float | None:
    # None when the baseline is zero or negative: a ratio of such overheads means nothing.
    return numerator / denominator if denominator > 0 else None
