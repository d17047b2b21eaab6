"""Run drills one after another, each on a fresh local region, and collect their results."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from types import ModuleType

from drills import progress
from drills.errors import DrillError
from drills.result import DrillResult
from loadgen import LoadgenError
from localregion.errors import LocalRegionError


def run_drill(module: ModuleType, run_root: Path, *, quick: bool) -> DrillResult:
    """Run one drill; a failed step becomes the result's error instead of an exception."""
    result = DrillResult(drill=module.NAME, title=module.TITLE, quick=quick)
    started = time.monotonic()
    progress.step(module.NAME, "started" + (" (quick)" if quick else ""))
    try:
        module.run(result, run_root / module.NAME, quick)
    except (DrillError, LocalRegionError, LoadgenError) as error:
        result.error = f"{type(error).__name__}: {error}"
    except Exception as error:
        # A bug in a drill must not hide the results of the drills after it, so it is
        # recorded with its traceback and the run goes on.
        traceback.print_exc()
        result.error = f"unexpected {type(error).__name__}: {error}"
    result.duration_seconds = time.monotonic() - started
    verdict = "passed" if result.passed else "FAILED"
    progress.step(
        module.NAME,
        f"{verdict} in {result.duration_seconds:.0f} s"
        + (f": {result.error}" if result.error else ""),
    )
    for check in result.failed_checks():
        progress.step(module.NAME, f"failed check: {check.name}: {check.detail}")
    return result


def run_drills(modules: list[ModuleType], run_root: Path, *, quick: bool) -> list[DrillResult]:
    return [run_drill(module, run_root, quick=quick) for module in modules]
