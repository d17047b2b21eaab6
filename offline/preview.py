"""`scripts/preview STACK [--out DIR]`: the reference program of one stack, on the mock engine.

Runs `__main__.py` with the config of `stacks/Pulumi.<STACK>.yaml`, first as `pulumi preview`
would (computed values unknown) and then as `pulumi up` would (the mocks compute IDs, ARNs
and endpoints). For each run it prints the resource counts per plane, per cell and per type
and runs the CrossGuard pack over the recording. It writes `DIR/inventory.json` with every
resource (type, name, parent, provider, inputs, outputs, plane, cell; secrets redacted) and
`DIR/region.mmd`, a Mermaid diagram of the region.

The CrossGuard pack is called as `policies.crossguard.offline.run(recording,
stack_config=config)`, where `recording` is an `offline.Recording` and `config` the stack's
config as the CLI passes it. The report it returns must have `lines()` (the text
to print), `mandatory_count` (mandatory violations) and `to_json()` (written to
`DIR/policies.json`).

Exit status: 0 when both runs pass, 1 on a mandatory policy violation, 2 on invalid config
or arguments (one line on stderr, no traceback), 3 when the CrossGuard pack is missing.
"""

import argparse
import json
import multiprocessing
import os
import runpy
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from components.config import parse_stack_config
from components.errors import ConfigError
from offline.diagram import region_diagram
from offline.engine import ProgramFailed, run_program
from offline.inventory import format_table, inventory_records, summarize
from offline.recorder import STACK_TYPE, Recording
from offline.stack_config import (
    PROGRAM,
    ROOT,
    STACKS_DIRECTORY,
    load_stack_config,
    shipped_stacks,
)

EXIT_OK = 0
EXIT_POLICY_VIOLATION = 1
EXIT_INVALID_CONFIG = 2
EXIT_PACK_MISSING = 3
MODES = ("preview", "update")
PACK_MODULE = "policies.crossguard.offline"


class PackMissingError(Exception):
    """The CrossGuard pack has no offline runner to call."""


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/preview",
        description="Preview a region stack offline on Pulumi's mock engine.",
    )
    parser.add_argument(
        "stack", help="stack name, one of: " + ", ".join(shipped_stacks()) + " (stacks/)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for inventory.json, policies.json and region.mmd (default: out/STACK)",
    )
    parser.add_argument(
        "--stacks-dir",
        type=Path,
        default=STACKS_DIRECTORY,
        help="directory of the Pulumi.<stack>.yaml files (default: stacks/)",
    )
    parser.add_argument(
        "--mode",
        choices=(*MODES, "both"),
        default="both",
        help="run as `pulumi preview`, as `pulumi up`, or both at once (default: both)",
    )
    parser.add_argument(
        "--skip-policies",
        action="store_true",
        help="do not run the CrossGuard pack; the output then says no policy was checked",
    )
    return parser.parse_args(argv)


def run_stack(stack: str, config: dict[str, str], preview: bool) -> Recording:
    """Run the reference program with the stack's config, as the Pulumi CLI would."""
    return run_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        stack=stack,
        config=config,
        preview=preview,
    )


def run_policies(recording: Recording, config: dict[str, str]) -> Any:
    """Return the CrossGuard pack's report on the recording."""
    try:
        from policies.crossguard import offline as pack
    except ModuleNotFoundError as error:
        if error.name not in (PACK_MODULE, "policies.crossguard"):
            raise
        raise PackMissingError(
            f"the CrossGuard pack has no offline runner ({PACK_MODULE}.run is missing), "
            "so no policy was checked; pass --skip-policies to preview without policies"
        ) from None
    report = pack.run(recording, stack_config=config)
    for attribute in ("lines", "mandatory_count", "to_json"):
        if not hasattr(report, attribute):
            raise PackMissingError(
                f"the report of {PACK_MODULE}.run has no {attribute!r}; "
                "expected lines(), mandatory_count and to_json()"
            )
    return report


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    stack = arguments.stack
    out = arguments.out or ROOT / "out" / stack
    modes = MODES if arguments.mode == "both" else (arguments.mode,)
    started = time.monotonic()
    try:
        config = load_stack_config(stack, arguments.stacks_dir)
        # The program checks the same; checking first starts no process for a bad config.
        parse_stack_config(config, stack)
    except ConfigError as error:
        return _invalid(error)
    problem = _output_problem(out)
    if problem is not None:
        return _invalid(f"--out: invalid value '{out}' ({problem}); expected a directory")

    recordings: dict[str, Recording] = {}
    reports: dict[str, Any] = {}
    print(f"preview: {stack}: running the program in {' and '.join(modes)} mode", flush=True)
    # Each run goes to a worker process, so the two runs use both cores. The program must
    # not run in this process: runpy swaps sys.modules["__main__"] while it runs, and the
    # pool pickles _record by its module's name in a background thread, which then fails
    # when this module runs as `python -m offline.preview`.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(modes), mp_context=context) as pool:
        pending = {mode: pool.submit(_record, stack, config, mode == "preview") for mode in modes}
        outcomes = {mode: future.result() for mode, future in pending.items()}
    for mode in modes:
        outcome = outcomes[mode]
        if isinstance(outcome, _Rejected):
            return _invalid(outcome.message)
        recording, seconds = outcome
        recordings[mode] = recording
        count = len(recording.resources)
        print(f"preview: {stack}: {mode} mode: {count} resources in {seconds:.1f} s")

    last = recordings[modes[-1]]
    _print_summary(stack, recordings)
    # Created only now, so a config the program rejects leaves nothing behind.
    out.mkdir(parents=True, exist_ok=True)
    _write_inventory(out / "inventory.json", stack, recordings)
    print(f"preview: {stack}: wrote {out / 'inventory.json'}")
    (out / "region.mmd").write_text(region_diagram(last, _title(stack, last)))
    print(f"preview: {stack}: wrote {out / 'region.mmd'} (Mermaid)")

    status = EXIT_OK
    if arguments.skip_policies:
        print(f"preview: {stack}: policies skipped (--skip-policies); no invariant was checked")
    else:
        try:
            for mode, recording in recordings.items():
                reports[mode] = run_policies(recording, config)
        except PackMissingError as error:
            print(f"preview: error: {error}", file=sys.stderr)
            return EXIT_PACK_MISSING
        for mode, report in reports.items():
            print(f"preview: {stack}: CrossGuard policies, {mode} mode:")
            for line in report.lines():
                print(f"  {line}")
            if report.mandatory_count:
                status = EXIT_POLICY_VIOLATION
        policies = {mode: report.to_json() for mode, report in reports.items()}
        (out / "policies.json").write_text(json.dumps(policies, indent=2, default=str))
        print(f"preview: {stack}: wrote {out / 'policies.json'}")

    seconds = time.monotonic() - started
    outcome = "failed: mandatory policy violations" if status else "done"
    print(f"preview: {stack}: {outcome} in {seconds:.1f} s")
    return status


@dataclass(frozen=True)
class _Rejected:
    """The program rejected the config; `message` is its one-line error."""

    message: str


def _record(
    stack: str, config: dict[str, str], preview: bool
) -> tuple[Recording, float] | _Rejected:
    """Run the program once and return the recording and the seconds it took.

    Runs in a worker process too, so a rejection comes back as a value. ConfigError does not
    survive pickling, because its constructor takes more than the message.
    """
    started = time.monotonic()
    try:
        recording = run_stack(stack, config, preview=preview)
    except ProgramFailed as failure:
        if isinstance(failure.error, (ConfigError, pulumi.RunError)):
            return _Rejected(str(failure.error))
        raise RuntimeError(f"the program failed: {failure.error!r}") from failure.error
    return recording, time.monotonic() - started


def _output_problem(out: Path) -> str | None:
    """Return why `out` cannot hold the outputs, or None if it can or can be created."""
    if out.exists():
        return None if out.is_dir() else "not a directory"
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not a writable directory"
    return None


def _invalid(error: BaseException | str) -> int:
    print(f"preview: error: {error}", file=sys.stderr)
    return EXIT_INVALID_CONFIG


def _title(stack: str, recording: Recording) -> str:
    outputs = recording.stack_outputs()
    cells = outputs.get("cells")
    count = f", {len(cells)} cells" if isinstance(cells, list) else ""
    return f"region stack {stack}{count}"


def _print_summary(stack: str, recordings: dict[str, Recording]) -> None:
    summaries = {mode: summarize(recording) for mode, recording in recordings.items()}
    if len(summaries) == 2 and summaries["preview"].by_type != summaries["update"].by_type:
        print(f"preview: {stack}: warning: preview and update mode recorded different resources")
    mode, summary = list(summaries.items())[-1]
    print(f"preview: {stack}: resources of the {mode} run")
    for title, counts in (
        ("plane", summary.by_plane),
        ("cell", summary.by_cell),
        ("type", summary.by_type),
    ):
        print("\n".join(format_table(title, counts)))


def _write_inventory(path: Path, stack: str, recordings: dict[str, Recording]) -> None:
    runs = {}
    for mode, recording in recordings.items():
        records = inventory_records(recording)
        stacks = [record for record in records if record["type"] == STACK_TYPE]
        runs[mode] = {
            "preview": recording.preview,
            "summary": summarize(recording).to_json(),
            "outputs": stacks[0]["component_outputs"] if stacks else None,
            "resources": records,
        }
    document = {"stack": stack, "project": next(iter(recordings.values())).project, "runs": runs}
    path.write_text(json.dumps(document, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
