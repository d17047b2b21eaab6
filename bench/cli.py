"""Command line of the benchmarks: `scripts/bench [--quick] [--only ...] [--out DIR]`."""

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.edge.run import EdgeOptions, measure_edge
from bench.plot import plot_latency
from bench.report import write_results
from loadgen import LoadgenError
from localregion.errors import LocalRegionError

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".tools" / "bin"
SECTIONS = ("edge", "propagation", "scale")

FULL = {
    "edge": EdgeOptions(),
    "propagation_cells": (2, 5, 10),
    "propagation_trials": 3,
    "scale_cells": (10, 50, 100),
}
# --quick checks that every part of the harness works end to end, in about three minutes;
# its figures are too short to mean anything. Its rates stay low because it fails on any
# request without a 200: at 100 per second, stock OPA timed out on 89 of 200 requests
# while the shared 2-core machine had a load average of 12.
QUICK = {
    "edge": EdgeOptions(rates=(20, 50), duration_s=2.0, warmup_s=0.5),
    "propagation_cells": (2,),
    "propagation_trials": 1,
    "scale_cells": (2, 4),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure authorization overhead, bundle propagation and program scale, "
        "each against a baseline of the same run, and write results.json, results.md and "
        "latency.png.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="check the harness with tiny runs (about 3 minutes)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, from {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for the results (default: out/bench, or out/bench-quick with --quick)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="repeat the edge runs this many times, interleaved; the comparison takes the "
        "median (default: 1)",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds of each measured edge run (default: 20)"
    )
    parser.add_argument(
        "--scale-cells",
        help="comma-separated cell counts of the scale section (default: 10,50,100; "
        "2,4 with --quick)",
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        parser.error(
            f"invalid --only {args.only!r}: expected a comma-separated subset of {SECTIONS}"
        )
    args.sections = sections
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"invalid --rounds {args.rounds}: expected 1 or more")
    if args.duration is not None and not 1 <= args.duration <= 600:
        parser.error(f"invalid --duration {args.duration}: expected 1 to 600 seconds")
    if args.scale_cells is not None:
        args.scale_cells = _cell_counts(parser, args.scale_cells)
    return args


def _cell_counts(parser: argparse.ArgumentParser, text: str) -> tuple[int, ...]:
    counts = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            parser.error(
                f"invalid --scale-cells {text!r}: expected comma-separated cell counts of 1 "
                "or more, e.g. 10,50,100"
            )
        counts.append(int(item))
    return tuple(counts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    out_dir = (args.out or ROOT / "out" / ("bench-quick" if args.quick else "bench")).resolve()
    workdir = out_dir / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    edge_options = plan["edge"]
    if args.rounds or args.duration:
        edge_options = EdgeOptions(
            **{
                **edge_options.__dict__,
                "rounds": args.rounds or edge_options.rounds,
                "duration_s": args.duration or edge_options.duration_s,
            }
        )

    started = time.monotonic()
    results = {
        "schema": 1,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "tools": tool_versions(),
        # The machine is shared, and the load average shows how busy it was during the run.
        "load_average_at_start": load_average(),
    }

    def progress(line: str) -> None:
        print(f"bench [{time.monotonic() - started:6.1f} s] {line}", flush=True)

    if "edge" in args.sections:
        try:
            results["edge"] = measure_edge(edge_options, workdir / "edge", progress)
        except (LocalRegionError, LoadgenError) as error:
            # The other sections still run, and the results say why this one is missing.
            results["edge_failure"] = str(error)
            progress(f"edge: failed: {error}")
    # Results so far are written after each section, so a crash keeps what was measured.
    write_results(results, out_dir)
    if "propagation" in args.sections:
        from bench.propagation import measure_propagation

        results["propagation"] = measure_propagation(
            plan["propagation_cells"], plan["propagation_trials"], workdir / "propagation", progress
        )
        write_results(results, out_dir)
    if "scale" in args.sections:
        from bench.scale import measure_scale

        cell_counts = args.scale_cells or plan["scale_cells"]
        results["scale"] = measure_scale(cell_counts, workdir / "scale", progress)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["load_average_at_end"] = load_average()

    json_path, markdown_path = write_results(results, out_dir)
    progress(f"wrote {json_path} and {markdown_path}")
    if results.get("edge", {}).get("runs"):
        plot = plot_latency(results["edge"]["runs"], out_dir / "latency.png")
        progress(f"wrote {plot}")
    print(markdown_path.read_text())

    for warning in saturation_warnings(results):
        print(f"bench: warning: {warning}", file=sys.stderr)
    problems = harness_problems(results)
    for problem in problems:
        print(f"bench: error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def harness_problems(results: dict) -> list[str]:
    """Return what makes the run's figures invalid: wrong decisions, stale cells, failed steps.

    In quick mode the rates are low enough for every setup, so a request without a 200 means
    the harness or a setup is broken. At the full rates it can mean that the machine could
    not keep up, which saturation_warnings reports instead.
    """
    problems = []
    if "edge_failure" in results:
        problems.append(f"edge: {results['edge_failure']}")
    for run in results.get("edge", {}).get("runs", []):
        if results["quick"] and run["unexpected_statuses"]:
            problems.append(_unexpected_line(run))
        probe = run["probe"]
        expected_revoked = 200 if run["setup"] == "a" else 403
        if probe["allowed_status"] != 200:
            problems.append(
                f"edge setup ({run['setup']}): an allowed caller got {probe['allowed_status']} "
                "before the run, expected 200"
            )
        if probe["revoked_status"] != expected_revoked:
            problems.append(
                f"edge setup ({run['setup']}): a revoked caller got {probe['revoked_status']}, "
                f"expected {expected_revoked}"
            )
    for failed in results.get("edge", {}).get("failed_runs", []):
        problems.append(
            f"edge setup ({failed['setup']}) at {failed['rate_requested']:g}/s, round "
            f"{failed['round']}: {failed['error']}"
        )
    for trial in results.get("propagation", {}).get("trials", []):
        if trial["cells_not_enforced"]:
            problems.append(
                f"propagation with {trial['cells']} cells, trial {trial['trial']}: cells "
                f"{trial['cells_not_enforced']} never returned the decision "
                f"{trial['expected_decision']}"
            )
    for failure in results.get("propagation", {}).get("failures", []):
        problems.append(f"propagation with {failure}")
    problems += [f"scale: {failure}" for failure in results.get("scale", {}).get("failures", [])]
    return problems


def saturation_warnings(results: dict) -> list[str]:
    """Return one line per full-rate edge run that did not keep up with its rate."""
    if results["quick"]:
        return []
    return [
        f"{_unexpected_line(run)}; achieved {run['rate_achieved']:.1f}/s: saturated, so its "
        "latencies measure queueing"
        for run in results.get("edge", {}).get("runs", [])
        if run["saturated"]
    ]


def _unexpected_line(run: dict) -> str:
    return (
        f"edge setup ({run['setup']}) at {run['rate_requested']:g}/s: "
        f"{run['unexpected_statuses']} of {run['requests']} requests did not return "
        f"{run['expected_status']} (statuses {run['statuses']}, errors {run['errors']})"
    )


def load_average() -> dict:
    """Return the 1, 5 and 15 minute load averages of the machine."""
    one, five, fifteen = os.getloadavg()
    return {"1m": one, "5m": five, "15m": fifteen}


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def tool_versions() -> dict:
    """Return the first version line of each tool the benchmarks run, or None if missing."""
    commands = {
        "envoy": [str(BIN / "envoy"), "--version"],
        "policy_agent": [str(BIN / "policy-agent"), "version"],
        "opa_envoy_plugin": [str(BIN / "opa-envoy-plugin"), "version"],
    }
    versions = {}
    for name, command in commands.items():
        try:
            output = subprocess.run(
                command, capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except OSError:
            versions[name] = None
            continue
        versions[name] = next((line.strip() for line in output.splitlines() if line.strip()), None)
    versions["vegeta"] = "v12.13.0 (bench/tools/go.mod)"
    return versions


if __name__ == "__main__":
    sys.exit(main())
