"""One measured step of the scale benchmark, run in a fresh Python process.

`python -m bench.scale_step preview --cells N --recording R --result J` evaluates the
reference program on the mock engine in preview mode, as `scripts/preview` does, with a
shipped stack's config and N cells, and pickles the recording to R. `python -m
bench.scale_step policy-pack --cells N --recording R --result J` runs the CrossGuard pack
over that recording. Each writes its wall time and
memory to J as JSON. A fresh process per step keeps the peak memory of one step apart from
the others.
"""

import argparse
import json
import os
import pickle
import resource
import sys
import time
from pathlib import Path

from bench.procstat import peak_rss_bytes
from components.errors import ConfigError
from offline import ProgramFailed
from offline.preview import run_stack
from offline.stack_config import load_stack_config

# The shipped stack whose services, issuers and settings every cell count reuses.
BASE_STACK = "aws-us-east-1"
# A /8 of /16 cells has room for 256 cells, and each cell keeps the /16 it has in the
# shipped stack, so only the number of cells changes between counts.
SCALE_NETWORK = {"supernet": "10.0.0.0/8", "cellPrefixLength": 16}


def scale_config(cells: int, base_stack: str = BASE_STACK) -> dict[str, str]:
    """Return the base stack's config with `cells` cells numbered cell-1..cell-N."""
    config = load_stack_config(base_stack)
    config["cellarch:cells"] = str(cells)
    network = json.loads(config["cellarch:network"])
    network.update(SCALE_NETWORK)
    config["cellarch:network"] = json.dumps(network)
    return config


def peak_rss_mib() -> float:
    """Return the peak resident memory of this process so far (VmHWM), in MiB.

    getrusage's ru_maxrss is not used: Linux carries it over fork and execve, so a step
    started by a large benchmark process would report that process's peak as its own.
    """
    return peak_rss_bytes(os.getpid()) / 2**20


def cpu_seconds() -> float:
    """Return the user plus system CPU time of this process so far, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_preview(cells: int, recording_path: Path) -> dict:
    """Record the reference program with `cells` cells; return wall time and resource count."""
    config = scale_config(cells)
    baseline = peak_rss_mib()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    recording = run_stack(f"{BASE_STACK}-{cells}-cells", config, preview=True)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    recording_path.write_bytes(pickle.dumps(recording))
    return {
        "cells": cells,
        "base_stack": BASE_STACK,
        "wall_s": wall,
        "cpu_s": cpu,
        "resources": len(recording.resources),
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
    }


def run_policy_pack(cells: int, recording_path: Path) -> dict:
    """Run the CrossGuard pack over a pickled recording; return wall time and violations.

    The pack gets the stack's config too, as the engine hands it to a pack, because some
    rules depend on the stack's environment.
    """
    from policies.crossguard.offline import run

    config = scale_config(cells)
    recording = pickle.loads(recording_path.read_bytes())
    baseline = peak_rss_mib()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = run(recording, stack_config=config)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "resources": len(recording.resources),
        "violations": len(report.violations),
        "mandatory_violations": report.mandatory_count,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_step")
    parser.add_argument("step", choices=("preview", "policy-pack"))
    parser.add_argument("--cells", type=int, required=True, help="number of cells")
    parser.add_argument("--recording", type=Path, required=True, help="pickled recording")
    parser.add_argument("--result", type=Path, required=True, help="JSON result file")
    args = parser.parse_args(argv)
    if args.cells < 1:
        parser.error(f"invalid --cells {args.cells}: expected a cell count of 1 or more")

    try:
        if args.step == "preview":
            result = run_preview(args.cells, args.recording)
        else:
            result = run_policy_pack(args.cells, args.recording)
    except ConfigError as error:
        print(f"scale: invalid config for {args.cells} cells: {error}", file=sys.stderr)
        return 2
    except ProgramFailed as error:
        print(
            f"scale: the reference program failed with {args.cells} cells: {error}", file=sys.stderr
        )
        return 2
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
