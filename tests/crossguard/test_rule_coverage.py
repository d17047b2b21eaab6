"""Every rule has a breaking case on each cloud it checks, found in the tests' own source.

A test counts for a cloud when its name ends in `_on_<cloud>`, or when it takes a `cloud`
parameter, which the I7 tests run under an AWS and a GCP provider.
"""

import ast
from pathlib import Path

import pytest

from policies.crossguard.pack import RULES

TESTS = Path(__file__).resolve().parent
PARAMETRIZED_CLOUDS = {"aws", "gcp"}


def _cases() -> dict[str, set[str]]:
    """Return, per rule, the clouds of the tests that expect its violations."""
    cases: dict[str, set[str]] = {}
    for path in TESTS.glob("test_i*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            clouds = {c for c in ("aws", "gcp", "kubernetes") if node.name.endswith(f"_on_{c}")}
            if any(argument.arg == "cloud" for argument in node.args.args):
                clouds |= PARAMETRIZED_CLOUDS
            for rule in _rules_with_expected_violations(node):
                cases.setdefault(rule, set()).update(clouds)
    return cases


def _rules_with_expected_violations(test: ast.FunctionDef) -> list[str]:
    """Return the rules a test expects violations of: `report.details("rule") == [...]`
    with a list that is not empty."""
    found = []
    for node in ast.walk(test):
        if not isinstance(node, ast.Compare) or not isinstance(node.left, ast.Call):
            continue
        call = node.left
        expected = node.comparators[0]
        is_details = isinstance(call.func, ast.Attribute) and call.func.attr == "details"
        non_empty = isinstance(expected, ast.ListComp) or (
            isinstance(expected, ast.List) and expected.elts
        )
        if is_details and non_empty and isinstance(call.args[0], ast.Constant):
            found.append(call.args[0].value)
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_has_case_on_each_cloud(rule):
    assert set(rule.checks) <= _cases().get(rule.name, set())
