"""Propagation: the time from publishing a bundle revision to its enforcement in every cell.

For each trial, load runs through every cell's sidecar while a revision that revokes (or
restores) one caller is published. A cell enforces the revision from the first request of
that caller that gets the new decision; the time is measured from the moment publishing
returned, when the repository holds the new revision.
"""

import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from loadgen import LoadgenError, LoadResult, RequestResult, Target, start_constant_rate
from localregion.errors import LocalRegionError
from localregion.region import LocalRegion

CALLER = "billing"
PATH = "/v1/orders"
USER_ID = "bench-user-1"
# Requests per second sent to each cell while a revision propagates. The interval between
# two requests to one cell (100 ms) bounds the resolution of the measurement, which is small
# against a polling interval of 1 to 2 s. At 50 per cell, 10 cells (500 per second in all)
# saturated the agents of a shared 2-core machine, and most probes timed out.
PROBE_RATE_PER_CELL = 10
# The decision of the revoking revision: 403 with this reason from the policy. A 403 from
# an authorization call that timed out has another reason and does not count.
REVOKED_REASON = "revoked"
# Time the load may run in one trial: publishing (build, tests, signing, upload) plus the
# agents' polling delay, with a wide margin. The load stops as soon as every agent reports
# the revision active.
MAX_TRIAL_SECONDS = 120
# Load kept running after every agent reports the revision, to catch a cell that flips back.
TAIL_SECONDS = 0.5
TOKEN_TTL_SECONDS = 3600


def measure_propagation(
    cell_counts: tuple[int, ...],
    trials: int,
    workdir: Path,
    progress: Callable[[str], None],
) -> dict:
    """Bring up a region per cell count, publish `trials` revisions, and time each one."""
    results = []
    failures = []
    polling = None
    for count in cell_counts:
        progress(f"propagation: starting a local region of {count} cells")
        try:
            with LocalRegion(
                cells=count,
                run_dir=workdir / f"region-{count}",
                progress=lambda line: progress(f"propagation: {line}"),
            ) as region:
                polling = {
                    "min_delay_seconds": region.polling_min_delay_seconds,
                    "max_delay_seconds": region.polling_max_delay_seconds,
                }
                for trial in range(1, trials + 1):
                    record = _trial(region, trial)
                    progress(
                        f"propagation: {count} cells, trial {trial}: revision "
                        f"{record['revision']} enforced in every cell after "
                        f"{_seconds(record['max_s'])} s (median {_seconds(record['median_s'])} s)"
                    )
                    results.append(record)
        except (LocalRegionError, LoadgenError) as error:
            # Keep the trials of the other cell counts; this count's remaining trials are lost.
            failures.append(f"{count} cells: {error}")
            progress(f"propagation: {count} cells failed: {error}")
    return {
        "caller": CALLER,
        "probe_rate_per_cell": PROBE_RATE_PER_CELL,
        "polling": polling,
        "trials": results,
        "failures": failures,
        "summary": summarize(results),
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _trial(region: LocalRegion, trial: int) -> dict:
    revoke = CALLER not in region.data["revoked"]
    revoked = (
        sorted(set(region.data["revoked"]) | {CALLER})
        if revoke
        else [caller for caller in region.data["revoked"] if caller != CALLER]
    )
    expected = "revoked" if revoke else "allowed"
    token = region.token(CALLER, ttl_seconds=TOKEN_TTL_SECONDS)
    targets = [
        Target(
            cell.sidecar_url + PATH,
            headers={"authorization": f"Bearer {token}", "x-user-id": USER_ID},
        )
        for cell in region.cells
    ]
    rate = PROBE_RATE_PER_CELL * len(region.cells)
    with start_constant_rate(targets, rate, MAX_TRIAL_SECONDS, timeout=2.0) as run:
        publish_started = time.time()
        revision = region.publish({"revoked": revoked}, wait=False)
        published = time.time()
        region.wait_for_revision(revision, timeout_seconds=MAX_TRIAL_SECONDS)
        time.sleep(TAIL_SECONDS)
        run.stop()
        result = run.wait()

    by_cell = enforcement_times(result, region, published, expected)
    times = [entry["enforced_after_s"] for entry in by_cell.values()]
    missing = [name for name, entry in by_cell.items() if entry["enforced_after_s"] is None]
    return {
        "cells": len(region.cells),
        "trial": trial,
        "change": f"{'revoke' if revoke else 'restore'} {CALLER}",
        "revision": revision,
        "expected_decision": expected,
        "expected_status": 403 if revoke else 200,
        "publish_s": published - publish_started,
        "by_cell": by_cell,
        "cells_not_enforced": missing,
        "max_s": max((t for t in times if t is not None), default=None),
        "median_s": median(t for t in times if t is not None)
        if len(missing) < len(times)
        else None,
    }


def decision(request: RequestResult) -> str:
    """Return what a probe got: allowed, revoked, or other (a timeout or another denial)."""
    if request.status == 200:
        return "allowed"
    if request.status == 403 and request.header("x-authz-reason") == REVOKED_REASON:
        return "revoked"
    return "other"


def enforcement_times(
    result: LoadResult, region: LocalRegion, published: float, expected: str
) -> dict:
    """Return, per cell, when its first request got the expected decision after publishing.

    `expected` is "revoked" or "allowed". A request that started before publishing returned
    is ignored, because the revision may not have been in the repository yet. `reverted`
    counts later requests of the cell that got the old decision again (it should be 0), and
    `other` counts requests with neither decision, such as timeouts.
    """
    old = "allowed" if expected == "revoked" else "revoked"
    by_url = {cell.sidecar_url + PATH: cell.name for cell in region.cells}
    cells: dict[str, dict] = {
        name: {"enforced_after_s": None, "reverted": 0, "other": 0, "requests": 0}
        for name in by_url.values()
    }
    for request in result.requests:
        entry = cells[by_url[request.url]]
        if request.start < published:
            continue
        entry["requests"] += 1
        got = decision(request)
        if got == "other":
            entry["other"] += 1
        elif entry["enforced_after_s"] is None:
            if got == expected:
                entry["enforced_after_s"] = request.end - published
        elif got == old:
            entry["reverted"] += 1
    return cells


def summarize(trials: list[dict]) -> list[dict]:
    """Return per cell count the median and max enforcement time over all cells and trials."""
    summary = []
    for count in sorted({trial["cells"] for trial in trials}):
        times = [
            entry["enforced_after_s"]
            for trial in trials
            if trial["cells"] == count
            for entry in trial["by_cell"].values()
            if entry["enforced_after_s"] is not None
        ]
        summary.append(
            {
                "cells": count,
                "trials": sum(1 for trial in trials if trial["cells"] == count),
                "median_s": median(times) if times else None,
                "max_s": max(times) if times else None,
                "not_enforced": sum(
                    len(trial["cells_not_enforced"]) for trial in trials if trial["cells"] == count
                ),
            }
        )
    return summary
