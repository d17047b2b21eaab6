"""The Rego policy's own checks and tests, run through OPA from pytest."""

from __future__ import annotations

import json
import subprocess

import pytest

from wasm.builtins import write_bundle_capabilities
from wasm.checks import measure_coverage, policy_files
from wasm.layout import POLICY_DIR
from wasm.opa import opa_binary

MIN_COVERAGE_PERCENT = 90.0


def run_opa(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(opa_binary()), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rego_files() -> list[str]:
    return [str(path) for path in policy_files(POLICY_DIR).all]


@pytest.mark.parametrize("target", ["rego", "wasm"])
def test_policy_tests_pass(target: str) -> None:
    completed = run_opa("test", "--target", target, "--format", "json", *rego_files())
    results = json.loads(completed.stdout)
    failed = [result["name"] for result in results if result.get("fail") or result.get("error")]
    assert failed == []
    assert completed.returncode == 0
    assert len(results) >= 20


def test_policy_test_names_follow_convention() -> None:
    completed = run_opa("test", "--format", "json", *rego_files())
    names = [result["name"] for result in json.loads(completed.stdout)]
    misnamed = [name for name in names if not name.startswith(("test_success_", "test_fail_"))]
    assert misnamed == []


def test_policy_line_coverage_at_least_90_percent() -> None:
    completed = run_opa("test", "--coverage", "--format", "json", *rego_files())
    report = json.loads(completed.stdout)
    print(f"opa test --coverage over policies/authz: {report['coverage']:.2f}%")
    assert report["coverage"] >= MIN_COVERAGE_PERCENT


def test_policy_sources_line_coverage_at_least_90_percent() -> None:
    coverage = measure_coverage(policy_files(POLICY_DIR))
    print(f"line coverage of the bundle sources (tests excluded): {coverage:.2f}%")
    assert coverage >= MIN_COVERAGE_PERCENT


def test_policy_is_formatted() -> None:
    completed = run_opa("fmt", "--list", *rego_files())
    assert completed.stdout.split() == []
    assert completed.returncode == 0


def test_policy_checks_strict_with_bundle_capabilities(tmp_path) -> None:
    capabilities = write_bundle_capabilities(tmp_path / "capabilities.json")
    completed = run_opa("check", "--strict", "--capabilities", str(capabilities), *rego_files())
    assert completed.stdout + completed.stderr == ""
    assert completed.returncode == 0
