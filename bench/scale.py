"""Program scale: the offline preview of one region and the policy pack, at several cell counts.

Each count runs two fresh Python processes (`bench.scale_step`): the preview, which records
the reference program on the mock engine and pickles the recording, then the CrossGuard pack
over that same recording. Time per cell at the largest count over time per cell at the
smallest is the figure of merit: 1.0 means the cost grows linearly with the cells.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A step that has not finished after this long is stopped and reported as failed.
STEP_TIMEOUT_SECONDS = 1800
# How often a long step prints that it is still running.
PROGRESS_INTERVAL_SECONDS = 30


class ScaleStepFailed(Exception):
    """A preview or policy-pack process exited non-zero or timed out."""


def measure_scale(
    cell_counts: tuple[int, ...], workdir: Path, progress: Callable[[str], None]
) -> dict:
    """Measure the preview and the pack at each cell count; return runs and ratios."""
    workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    failures = []
    for cells in cell_counts:
        recording = workdir / f"recording-{cells}.pickle"
        try:
            preview = _step(
                ["preview", "--cells", str(cells)], recording, workdir, f"{cells} cells", progress
            )
        except ScaleStepFailed as error:
            failures.append(str(error))
            progress(f"scale: {error}")
            continue
        _add_per_cell(preview, cells)
        progress(
            f"scale: preview of {cells} cells: {preview['resources']} resources in "
            f"{preview['wall_s']:.1f} s ({preview['cpu_s']:.1f} s CPU), "
            f"peak {preview['peak_rss_mib']:.0f} MiB"
        )
        try:
            policy_pack = _step(
                ["policy-pack", "--cells", str(cells)],
                recording,
                workdir,
                f"{cells} cells",
                progress,
            )
        except ScaleStepFailed as error:
            failures.append(str(error))
            progress(f"scale: {error}")
            policy_pack = {}
        else:
            _add_per_cell(policy_pack, cells)
            progress(
                f"scale: policy pack over {cells} cells: {policy_pack['violations']} violations "
                f"in {policy_pack['wall_s']:.1f} s ({policy_pack['cpu_s']:.1f} s CPU), "
                f"peak {policy_pack['peak_rss_mib']:.0f} MiB"
            )
        runs.append({"cells": cells, "preview": preview, "policy_pack": policy_pack})
    return {
        "cell_counts": list(cell_counts),
        "runs": runs,
        "failures": failures,
        "ratios": ratios(runs),
    }


def ratios(runs: list[dict]) -> dict:
    """Return time per cell at the largest count over that at the smallest, per step.

    Wall time is what the issue asks for; CPU time is given too, because other work on a
    shared machine stretches wall time but not the CPU time of the step itself. The time
    per added cell (the slope between the two counts) is given as well, because the fixed
    part of the program (governance, observability, providers) makes the time per cell at
    a small count larger than the cost of one more cell.
    """
    result: dict = {"smallest_cells": None, "largest_cells": None}
    for step in ("preview", "policy_pack"):
        for measure in ("", "_cpu"):
            result[f"{step}{measure}"] = None
            result[f"{step}{measure}_marginal_s_per_cell"] = None
    if len(runs) < 2:
        return result
    smallest = min(runs, key=lambda run: run["cells"])
    largest = max(runs, key=lambda run: run["cells"])
    added = largest["cells"] - smallest["cells"]
    result.update(smallest_cells=smallest["cells"], largest_cells=largest["cells"])
    for step in ("preview", "policy_pack"):
        small, large = smallest[step], largest[step]
        for measure, key in (("", "wall_s"), ("_cpu", "cpu_s")):
            if key not in small or key not in large:
                continue
            per_cell_small = small[key] / smallest["cells"]
            per_cell_large = large[key] / largest["cells"]
            result[f"{step}{measure}"] = per_cell_large / per_cell_small
            result[f"{step}{measure}_marginal_s_per_cell"] = (large[key] - small[key]) / added
    return result


def _step(
    arguments: list[str],
    recording: Path,
    workdir: Path,
    label: str,
    progress: Callable[[str], None],
) -> dict:
    step = arguments[0]
    result_path = workdir / f"{step}-{recording.stem}.json"
    log_path = workdir / f"{step}-{recording.stem}.log"
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.scale_step",
        *arguments,
        "--recording",
        str(recording),
        "--result",
        str(result_path),
    ]
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(process, started, f"{step} of {label}", progress)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode != 0:
        last_line = _last_line(log_path)
        raise ScaleStepFailed(
            f"{step} of {label} failed with exit code {process.returncode}: {last_line} "
            f"(log: {log_path})"
        )
    result = json.loads(result_path.read_text())
    result["process_wall_s"] = time.monotonic() - started
    return result


def _add_per_cell(step: dict, cells: int) -> None:
    step["s_per_cell"] = step["wall_s"] / cells
    step["cpu_s_per_cell"] = step["cpu_s"] / cells


def _wait(
    process: subprocess.Popen, started: float, what: str, progress: Callable[[str], None]
) -> None:
    while True:
        try:
            process.wait(timeout=PROGRESS_INTERVAL_SECONDS)
            return
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > STEP_TIMEOUT_SECONDS:
                raise ScaleStepFailed(
                    f"{what} timed out after {STEP_TIMEOUT_SECONDS} s and was stopped"
                ) from None
            progress(f"scale: {what} still running after {elapsed:.0f} s")


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
