"""`scripts/drills --quick` on real local regions: the safety properties of every drill.

These tests assert safety only (nothing that must be denied is allowed, no request is
lost, every fault is noticed and recovered from), never latency or propagation times,
which depend on the machine.
"""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The quick drills took 7.5 minutes on a 2-core machine shared with other work, at a
# load average of 6 to 16. This timeout bounds a hang and leaves room for a busier one.
QUICK_DRILLS_TIMEOUT_SECONDS = 1200

pytestmark = [
    pytest.mark.local_region,
    pytest.mark.slow,
    # The first test also runs the module's fixture, which runs every quick drill.
    pytest.mark.timeout(QUICK_DRILLS_TIMEOUT_SECONDS + 60),
]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("drills-out")
    run_dir = tmp_path_factory.mktemp("drills-run")
    completed = subprocess.run(
        [str(ROOT / "scripts" / "drills"), "--quick", "--out", str(out), "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_DRILLS_TIMEOUT_SECONDS,
        check=False,
    )
    results_file = out / "drills.json"
    assert results_file.exists(), f"scripts/drills wrote no results:\n{completed.stderr[-4000:]}"
    document = json.loads(results_file.read_text())
    return {result["drill"]: result for result in document["results"]}


def checks_of(result: dict) -> dict[str, dict]:
    return {check["name"]: check for check in result["checks"]}


def figure(result: dict, name: str):
    for entry in result["figures"]:
        if entry["name"] == name:
            return entry["value"]
    raise AssertionError(f"{result['drill']} has no figure {name!r}")


def assert_safe(result: dict) -> None:
    assert result["error"] is None, result["error"]
    failed = [
        f"{c['name']}: {c['detail']}" for c in result["checks"] if c["safety"] and not c["passed"]
    ]
    assert failed == []


def test_every_drill_ran(quick_results):
    assert sorted(quick_results) == sorted(
        [
            "repository-outage",
            "repository-down-at-start",
            "late-binding",
            "tampered-bundle",
            "corrupt-persisted-bundle",
            "agent-down-or-slow",
            "cell-down",
            "hostile-requests",
        ]
    )


def test_repository_outage_loses_no_request(quick_results):
    result = quick_results["repository-outage"]
    assert_safe(result)
    assert figure(result, "requests failed") == 0
    assert figure(result, "requests sent") > 0


def test_repository_outage_changes_no_decision(quick_results):
    checks = checks_of(quick_results["repository-outage"])
    assert checks["no decision changed during the outage"]["passed"]
    assert checks["no decision changed after the outage"]["passed"]


def test_agent_restart_without_repository_keeps_decisions(quick_results):
    result = quick_results["repository-down-at-start"]
    assert_safe(result)
    assert figure(result, "active revision after restart") == figure(
        result, "active revision before restart"
    )


def test_late_binding_reaches_every_agent(quick_results):
    result = quick_results["late-binding"]
    assert_safe(result)
    assert checks_of(result)["no agent was restarted"]["passed"]


def test_bad_bundles_are_rejected_everywhere(quick_results):
    result = quick_results["tampered-bundle"]
    assert_safe(result)
    assert figure(result, "bad bundles published") == 3


def test_corrupt_persisted_bundle_never_allows(quick_results):
    result = quick_results["corrupt-persisted-bundle"]
    assert_safe(result)
    assert checks_of(result)["agent without a verified bundle served nothing"]["passed"]


def test_faulty_agent_fails_closed(quick_results):
    result = quick_results["agent-down-or-slow"]
    assert_safe(result)


def test_cell_down_affects_only_its_users(quick_results):
    result = quick_results["cell-down"]
    checks = checks_of(result)
    assert_safe(result)
    assert checks["no user of another cell had a failed request"]["passed"]
    assert checks["no user was served by a cell other than their own"]["passed"]
    assert figure(result, "requests failed for users of other cells") == 0
    assert figure(result, "users served by a cell other than their own") == 0
    assert figure(result, "requests the router sent in panic mode") == 0


def test_cell_down_gets_router_503(quick_results):
    result = quick_results["cell-down"]
    checks = checks_of(result)
    assert checks["stopped cell's users got the router's 503 while it was out"]["passed"]
    assert checks["cell served its users again after its restart"]["passed"]
    assert figure(result, "router 503 for the stopped cell's users") > 0


def test_hostile_requests_never_bypass_a_deny(quick_results):
    result = quick_results["hostile-requests"]
    assert_safe(result)
    assert checks_of(result)["no input that must be denied reached a service"]["passed"]
    assert figure(result, "inputs sent") >= 25
