"""`scripts/bench --quick` end to end: the harness runs and writes well-formed results.

These tests check the shape and the statuses of the results, never a timing.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK_RATES = (20, 50)
QUICK_DURATION_S = 2.0
BENCH_TIMEOUT_SECONDS = 900

pytestmark = [pytest.mark.local_region, pytest.mark.slow]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run scripts/bench --quick once; yield (exit code, output, results dir)."""
    out_dir = tmp_path_factory.mktemp("bench-quick")
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "bench"), "--quick", "--out", str(out_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=BENCH_TIMEOUT_SECONDS)
    finally:
        # The bench stops what it started; this only matters if it hung or the test failed.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, output, out_dir


@pytest.fixture(scope="module")
def results(quick_run):
    code, output, out_dir = quick_run
    assert code == 0, output[-4000:]
    return json.loads((out_dir / "results.json").read_text())


def _runs(results, setup):
    return [run for run in results["edge"]["runs"] if run["setup"] == setup]


def test_quick_exits_zero(quick_run):
    code, output, _ = quick_run

    assert code == 0, output[-4000:]


def test_quick_results_have_every_section(results):
    assert results["quick"] is True
    assert {"edge", "propagation", "scale"} <= set(results)


def test_edge_runs_every_setup_at_every_rate(results):
    pairs = sorted((run["rate_requested"], run["setup"]) for run in results["edge"]["runs"])

    assert pairs == [(rate, setup) for rate in QUICK_RATES for setup in "abcd"]


@pytest.mark.parametrize("setup", ["a", "b", "c", "d"])
def test_edge_requests_all_return_200(results, setup):
    for run in _runs(results, setup):
        expected = int(run["rate_requested"] * QUICK_DURATION_S)
        assert run["requests"] == expected
        assert run["statuses"] == {"200": expected}
        assert run["unexpected_statuses"] == 0
        assert run["errors"] == {}


@pytest.mark.parametrize("setup", ["a", "b", "c", "d"])
def test_edge_records_achieved_rate(results, setup):
    for run in _runs(results, setup):
        assert run["rate_achieved"] > 0
        assert run["duration_s"] == QUICK_DURATION_S


@pytest.mark.parametrize("setup", ["a", "b", "c", "d"])
def test_edge_latency_points_ordered(results, setup):
    for run in _runs(results, setup):
        latency = run["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]


@pytest.mark.parametrize(
    ("setup", "processes"),
    [
        ("a", {"envoy", "service", "total"}),
        ("b", {"envoy", "authz", "service", "total"}),
        ("c", {"envoy", "authz", "service", "total"}),
        ("d", {"envoy", "authz", "service", "proxy", "total"}),
    ],
)
def test_edge_cpu_per_process(results, setup, processes):
    for run in _runs(results, setup):
        assert set(run["cpu_ms_per_1000_requests"]) == processes
        assert run["cpu_ms_per_1000_requests"]["envoy"] > 0


@pytest.mark.parametrize(
    ("setup", "status", "reason"),
    [
        ("a", 200, None),
        ("b", 403, "revoked"),
        ("c", 403, "revoked"),
        ("d", 403, "revoked"),
    ],
)
def test_edge_probe_of_revoked_caller(results, setup, status, reason):
    for run in _runs(results, setup):
        assert run["probe"]["revoked_status"] == status
        assert run["probe"]["revoked_reason"] == reason
        assert run["probe"]["allowed_status"] == 200


def test_edge_compares_each_rate(results):
    comparisons = results["edge"]["comparisons"]

    assert [c["rate"] for c in comparisons] == list(QUICK_RATES)
    for comparison in comparisons:
        assert set(comparison["overhead_ms"]) == {"b_over_a", "c_over_a", "d_over_a"}
        assert set(comparison["targets"]) == {"b_p99_overhead_below_1ms", "b_p99_below_c_p99"}


def test_edge_delay_line_calibrated(results):
    calibration = results["edge"]["delay_calibration"]

    assert calibration["one_way_delay_ms"] == 2.5
    # A delay line cannot deliver before its delay: 2.5 ms each way.
    assert calibration["delayed_rtt_ms"]["p50"] >= 5.0


def test_propagation_reaches_every_cell(results):
    (trial,) = results["propagation"]["trials"]

    assert trial["cells"] == 2
    assert set(trial["by_cell"]) == {"eu-1", "us-1"}
    assert trial["cells_not_enforced"] == []
    for entry in trial["by_cell"].values():
        assert entry["enforced_after_s"] > 0
        assert entry["reverted"] == 0


def test_scale_measures_each_cell_count(results):
    runs = results["scale"]["runs"]

    assert [run["cells"] for run in runs] == [2, 4]
    for run in runs:
        assert run["preview"]["wall_s"] > 0
        assert run["preview"]["peak_rss_mib"] > 0
        assert run["policy_pack"]["wall_s"] > 0


def test_scale_resources_grow_with_cells(results):
    small, large = results["scale"]["runs"]

    assert large["preview"]["resources"] > small["preview"]["resources"]


def test_quick_writes_markdown_and_plot(quick_run, results):
    _, _, out_dir = quick_run
    markdown = (out_dir / "results.md").read_text()

    assert "### Authorization overhead at the edge" in markdown
    assert "### Propagation from publish to enforcement" in markdown
    assert "### Program scale: offline preview of one region" in markdown
    assert (out_dir / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
