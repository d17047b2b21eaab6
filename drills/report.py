"""Write drill results as a Markdown page of figures and as JSON."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drills.result import DrillResult

# The 1, 5 and 15 minute load averages of os.getloadavg().
LoadAverages = tuple[float, float, float]

INTRODUCTION = """\
Each drill injects one fault into the local region (`scripts/local-region`): a bundle
repository served by moto on loopback, one real Envoy sidecar and policy agent per cell in
front of a sample service, and an Envoy router that assigns users to cells. The drills check
the two promises of the governance design:

- the data plane keeps serving, with the same decisions and latency, while the governance
  plane (the bundle repository) is down;
- no fault turns a deny into an allow.

Regenerate this page with `scripts/drills all` (about 8 minutes on 2 cores).
`scripts/drills --quick` runs short versions of every drill with the same safety checks,
and the test suite runs it.
Timing figures depend on the machine named below; the safety checks do not.
"""


def machine_description() -> str:
    """Describe the machine the figures were measured on, for the page header."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}"


def git_revision(root: Path) -> str:
    """Return the short commit of root's checkout, or "unknown" outside git."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _verdict(result: DrillResult) -> str:
    if result.error is not None:
        return "error"
    if result.passed:
        return "pass"
    return "fail (safety)" if not result.safety_passed else "fail (timing)"


def format_load(load: LoadAverages | None) -> str:
    """Format 1, 5 and 15 minute load averages as "1.20, 0.90, 0.70"."""
    if load is None:
        return "unknown"
    return ", ".join(f"{value:.2f}" for value in load)


def render_markdown(
    results: Sequence[DrillResult],
    *,
    revision: str,
    machine: str,
    load_at_start: LoadAverages | None = None,
    load_at_end: LoadAverages | None = None,
) -> str:
    """Render results as the Markdown page that the README links to."""
    quick = any(result.quick for result in results)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Drills: sovereign control under faults", "", INTRODUCTION]
    lines.append(f"Measured {when} at commit `{revision}` on {machine}.")
    # Other work on the machine slows every drill, so the load shows how busy it was.
    lines.append(
        f"Load average (1, 5, 15 min) at the start: {format_load(load_at_start)}; "
        f"at the end: {format_load(load_at_end)}."
    )
    if quick:
        lines.append("These are figures of the short (`--quick`) drills.")
    lines.append("")
    lines += _table(
        ["drill", "result", "checks passed", "duration (s)"],
        [
            [
                f"[{r.title}](#{r.drill})",
                _verdict(r),
                f"{sum(c.passed for c in r.checks)}/{len(r.checks)}",
                round(r.duration_seconds),
            ]
            for r in results
        ],
    )
    for result in results:
        lines += ["", f'<a id="{result.drill}"></a>', "", f"## {result.title}", ""]
        lines.append(f"`scripts/drills {result.drill}`: {_verdict(result)}.")
        if result.error:
            lines += ["", f"Error: {result.error}"]
        if result.figures:
            lines += [
                "",
                *_table(
                    ["figure", "value", "unit"], [[f.name, f.value, f.unit] for f in result.figures]
                ),
            ]
        for table in result.tables:
            lines += ["", f"{table.title}:", "", *_table(table.columns, table.rows)]
        if result.checks:
            lines += [
                "",
                *_table(
                    ["check", "kind", "passed", "detail"],
                    [
                        [c.name, "safety" if c.safety else "timing", c.passed, c.detail]
                        for c in result.checks
                    ],
                ),
            ]
        for note in result.notes:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def write_results(
    results: Sequence[DrillResult],
    markdown_path: Path,
    json_path: Path,
    *,
    root: Path,
    load_at_start: LoadAverages | None = None,
    load_at_end: LoadAverages | None = None,
) -> None:
    """Write results to markdown_path and json_path, creating their folders."""
    revision = git_revision(root)
    machine = machine_description()
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    page = render_markdown(
        results,
        revision=revision,
        machine=machine,
        load_at_start=load_at_start,
        load_at_end=load_at_end,
    )
    markdown_path.write_text(page, encoding="utf-8")
    document = {
        "revision": revision,
        "machine": machine,
        "load_average_at_start": list(load_at_start) if load_at_start else None,
        "load_average_at_end": list(load_at_end) if load_at_end else None,
        "results": [result.to_dict() for result in results],
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
