"""The latency distribution plot of the edge benchmark: one panel per request rate."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.edge.setups import SETUPS

TICKS = (0, 50, 90, 99, 99.9)


def _position(p: float) -> float:
    # Percentiles on a log scale of 1 / (1 - p), so the tail gets as much room as the body.
    return -math.log10(1 - p / 100)


def plot_latency(runs: list[dict], path: Path) -> Path:
    """Draw each setup's latency percentiles per rate (first round of each) and save a PNG."""
    rates = sorted({run["rate_requested"] for run in runs})
    figure, axes = plt.subplots(
        1, len(rates), figsize=(6 * len(rates), 4.5), squeeze=False, sharey=True
    )
    names = {setup.key: f"({setup.key}) {setup.name}" for setup in SETUPS}
    for axis, rate in zip(axes[0], rates, strict=True):
        for setup in SETUPS:
            run = next(
                (r for r in runs if r["rate_requested"] == rate and r["setup"] == setup.key), None
            )
            if run is None:
                continue
            points = [(p, value) for p, value in run["spectrum_ms"] if p < 100]
            axis.plot(
                [_position(p) for p, _ in points],
                [value for _, value in points],
                marker=".",
                label=f"{names[setup.key]} ({run['rate_achieved']:.0f}/s)",
            )
        axis.set_xticks([_position(p) for p in TICKS], [f"p{p:g}" for p in TICKS])
        axis.set_yscale("log")
        axis.set_xlabel("percentile")
        axis.set_title(f"{rate:g} requests/s requested")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    axes[0][0].set_ylabel("latency through Envoy (ms, log scale)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
