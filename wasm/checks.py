"""The checks that a policy passes before it is compiled: syntax, types, format, tests.

Each check runs OPA and turns its first error into one line that names the file and
line, so a build stops with a message a policy author can act on.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasm.builtins import FORBIDDEN_BUILTINS, forbidden_builtin_message
from wasm.errors import BundleError
from wasm.opa import failure_reason, run_opa

UNDEFINED_FUNCTION = re.compile(r"^undefined function (?P<name>[\w.]+)$")
# Per-test limit for `opa test`, a guard against a hanging test rather than a budget.
TEST_TIMEOUT = "120s"


@dataclass(frozen=True)
class PolicyFiles:
    """The Rego files of one policy directory, split into bundle sources and tests."""

    sources: tuple[Path, ...]
    tests: tuple[Path, ...]

    @property
    def all(self) -> tuple[Path, ...]:
        return self.sources + self.tests


@dataclass(frozen=True)
class PolicyTestReport:
    """Outcome of `opa test` over a policy: the number of tests and the line coverage."""

    passed: int
    coverage_percent: float


def display_path(path: Path | str) -> str:
    """Return path relative to the working directory when it lies below it."""
    relative = os.path.relpath(Path(path).resolve(), Path.cwd())
    return str(path) if relative.startswith("..") else relative


def policy_files(policy_dir: Path) -> PolicyFiles:
    """Return the .rego files of policy_dir, where files ending in _test.rego are tests."""
    if not policy_dir.is_dir():
        raise BundleError(f"policy directory not found: {display_path(policy_dir)}")
    rego = sorted(path.resolve() for path in policy_dir.glob("*.rego"))
    sources = tuple(path for path in rego if not path.name.endswith("_test.rego"))
    tests = tuple(path for path in rego if path.name.endswith("_test.rego"))
    if not sources:
        raise BundleError(f"no .rego policy files in {display_path(policy_dir)}")
    return PolicyFiles(sources=sources, tests=tests)


def describe_opa_errors(errors: list[dict[str, Any]]) -> str:
    """Return one line for OPA's JSON errors: the first by file and line, and the count."""
    ordered = sorted(errors, key=_error_position)
    first = ordered[0]
    location = _error_location(first)
    match = UNDEFINED_FUNCTION.match(first.get("message", ""))
    if match and match["name"] in FORBIDDEN_BUILTINS:
        line = forbidden_builtin_message(match["name"], location)
    else:
        line = f"{location}: {first.get('code', 'error')}: {first.get('message', '')}"
    others = len(ordered) - 1
    if others:
        line += f" (and {others} more error{'s' if others > 1 else ''})"
    return line


def check_policy(files: PolicyFiles, capabilities: Path) -> None:
    """Parse and type-check the policy with `opa check --strict` and the bundle capabilities."""
    completed = run_opa(
        [
            "check",
            "--strict",
            "--format",
            "json",
            "--capabilities",
            capabilities,
            *files.all,
        ]
    )
    if completed.returncode == 0:
        return
    errors = _json_errors(completed.stdout) or _json_errors(completed.stderr)
    if not errors:
        raise BundleError(f"`opa check` failed: {failure_reason(completed)}")
    raise BundleError(describe_opa_errors(errors))


def check_format(files: PolicyFiles, policy_dir: Path) -> None:
    """Reject files that `opa fmt` would change."""
    completed = run_opa(["fmt", "--list", "--fail", *files.all])
    unformatted = [line for line in completed.stdout.splitlines() if line.strip()]
    if unformatted:
        names = ", ".join(display_path(name) for name in unformatted)
        raise BundleError(
            f"not formatted as opa fmt writes it: {names}; "
            f"run `opa fmt -w {display_path(policy_dir)}`"
        )
    if completed.returncode != 0:
        raise BundleError(f"`opa fmt` failed: {failure_reason(completed)}")


def run_policy_tests(files: PolicyFiles, *, target: str = "rego") -> int:
    """Run the policy's tests on target ("rego" or "wasm") and return how many passed."""
    if not files.tests:
        raise BundleError(
            f"no *_test.rego files next to {display_path(files.sources[0])}; "
            "a bundle is built only from a tested policy"
        )
    # opa test fails a test that runs longer than --timeout (5 s by default). On the wasm
    # target every test compiles its own module, which took up to 4.3 s on a loaded 2-core
    # machine, so the default made builds fail at random. The limit only guards against hangs.
    completed = run_opa(
        ["test", "--target", target, "--timeout", TEST_TIMEOUT, "--format", "json", *files.all]
    )
    try:
        results = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise BundleError(
            f"`opa test --target {target}` failed: {failure_reason(completed)}"
        ) from None
    failed = [result for result in results if result.get("fail") or result.get("error")]
    if failed:
        names = ", ".join(_test_name(result) for result in failed)
        raise BundleError(f"{len(failed)} policy test(s) failed on the {target} target: {names}")
    return sum(_case_count(result) for result in results)


def measure_coverage(files: PolicyFiles) -> float:
    """Return the line coverage, in percent, that the tests reach over the bundle sources."""
    completed = run_opa(["test", "--coverage", "--format", "json", *files.all])
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise BundleError(f"`opa test --coverage` failed: {failure_reason(completed)}") from None
    source_names = {str(path) for path in files.sources}
    covered = 0
    not_covered = 0
    for name, file_report in report["files"].items():
        if str(Path(name).resolve()) in source_names:
            covered += file_report.get("covered_lines", 0)
            not_covered += file_report.get("not_covered_lines", 0)
    total = covered + not_covered
    return 100.0 * covered / total if total else 0.0


def check_tests(files: PolicyFiles, *, min_coverage: float) -> PolicyTestReport:
    """Run the tests on both targets and require min_coverage percent of source lines."""
    passed = run_policy_tests(files, target="rego")
    run_policy_tests(files, target="wasm")
    coverage = measure_coverage(files)
    if coverage < min_coverage:
        raise BundleError(
            f"policy tests cover {coverage:.1f}% of the lines of "
            f"{display_path(files.sources[0].parent)}, below the required {min_coverage:g}%"
        )
    return PolicyTestReport(passed=passed, coverage_percent=coverage)


def _json_errors(text: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return []
    if isinstance(document, dict):
        return list(document.get("errors", []))
    return []


def _error_position(error: dict[str, Any]) -> tuple[str, int]:
    location = error.get("location") or {}
    return (location.get("file", ""), location.get("row", 0))


def _error_location(error: dict[str, Any]) -> str:
    location = error.get("location") or {}
    if "file" not in location:
        return "policy"
    return f"{display_path(location['file'])}:{location.get('row', 0)}"


def _test_name(result: dict[str, Any]) -> str:
    location = result.get("location") or {}
    name = (
        f"{result.get('name')} ({display_path(location.get('file', '?'))}:{location.get('row', 0)})"
    )
    failed_cases = [
        case_name
        for case_name, case in (result.get("sub_results") or {}).items()
        if case.get("fail")
    ]
    if failed_cases:
        name += " cases " + ", ".join(sorted(failed_cases))
    return name


def _case_count(result: dict[str, Any]) -> int:
    """Count a table test's cases one by one, as `opa test` does in its summary."""
    sub_results = result.get("sub_results") or {}
    return sum(_case_count(case) for case in sub_results.values()) or 1
