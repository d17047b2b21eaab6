"""Command line of `scripts/drills`: run drills on fresh local regions and write figures."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from drills import catalog, report, runner

ROOT = Path(__file__).resolve().parent.parent
# The page that the README links to; only a full run of every drill rewrites it.
FIGURES_PAGE = ROOT / "docs" / "drills.md"
FIGURES_JSON = ROOT / "docs" / "drills.json"
# Quick runs and single drills write here (git-ignored), so they never replace the page.
SCRATCH_DIR = ROOT / "out" / "drills"
RUN_ROOT = ROOT / ".local-region" / "drills"


def build_parser() -> argparse.ArgumentParser:
    names = catalog.drill_names()
    parser = argparse.ArgumentParser(
        prog="scripts/drills",
        description=(
            "Inject faults into a local region and measure how the data plane behaves. "
            "Each drill starts its own region on 127.0.0.1 and stops it when done."
        ),
        epilog="drills: " + ", ".join(names) + ". 'all' runs every drill in that order.",
    )
    parser.add_argument(
        "drills",
        nargs="*",
        metavar="DRILL",
        help="drill names, or 'all'; with --quick and no name, every drill runs",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short versions (seconds instead of minutes) with the same safety checks",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=(
            "folder for drills.md and drills.json (default: docs/ for a full 'all', "
            f"{SCRATCH_DIR.relative_to(ROOT)}/ otherwise)"
        ),
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=RUN_ROOT,
        help=(
            "folder for the regions' keys, configs and logs "
            f"(default: {RUN_ROOT.relative_to(ROOT)})"
        ),
    )
    return parser


def select_drills(parser: argparse.ArgumentParser, requested: list[str], quick: bool) -> list[str]:
    names = catalog.drill_names()
    if not requested:
        if not quick:
            parser.error("no drill named; name one or more drills, 'all', or pass --quick")
        return names
    if "all" in requested:
        return names
    unknown = [name for name in requested if name not in names]
    if unknown:
        parser.error(f"unknown drill {unknown[0]!r}; expected 'all' or one of {', '.join(names)}")
    return list(dict.fromkeys(requested))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    selected = select_drills(parser, args.drills, args.quick)
    full_run = not args.quick and selected == catalog.drill_names()

    if args.out is not None:
        markdown_path, json_path = args.out / "drills.md", args.out / "drills.json"
    elif full_run:
        markdown_path, json_path = FIGURES_PAGE, FIGURES_JSON
    else:
        markdown_path, json_path = SCRATCH_DIR / "drills.md", SCRATCH_DIR / "drills.json"

    modules = [catalog.drill_module(name) for name in selected]
    load_at_start = os.getloadavg()
    results = runner.run_drills(modules, args.run_dir.resolve(), quick=args.quick)
    load_at_end = os.getloadavg()
    report.write_results(
        results,
        markdown_path,
        json_path,
        root=ROOT,
        load_at_start=load_at_start,
        load_at_end=load_at_end,
    )

    print(f"{'drill':<28} {'result':<8} {'checks':>7} {'seconds':>8}")
    for result in results:
        passed = sum(check.passed for check in result.checks)
        if result.passed:
            verdict = "pass"
        elif result.error:
            verdict = "error"
        else:
            verdict = "FAIL"
        print(
            f"{result.drill:<28} {verdict:<8} {passed:>3}/{len(result.checks):<3} "
            f"{result.duration_seconds:>8.0f}"
        )
    print(f"figures written to {markdown_path} and {json_path}")
    return 0 if all(result.passed for result in results) else 1
