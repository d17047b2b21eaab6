"""The benchmark command line: its arguments and what fails a run or only warns."""

from types import SimpleNamespace

import pytest

from bench.cli import harness_problems, parse_args, saturation_warnings
from bench.edge.measure import run_record
from bench.edge.setups import SETUPS
from bench.profile import parse_args as parse_profile_args
from loadgen import LoadResult, RequestResult


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "edge,nope"], "invalid --only 'edge,nope'"),
        (["--only", ","], "invalid --only ','"),
        (["--rounds", "0"], "invalid --rounds 0: expected 1 or more"),
        (["--duration", "0.5"], "invalid --duration 0.5: expected 1 to 600 seconds"),
        (["--scale-cells", "10,x"], "invalid --scale-cells '10,x'"),
        (["--scale-cells", "0"], "invalid --scale-cells '0'"),
        (["--scale-cells", "-5"], "invalid --scale-cells '-5'"),
    ],
)
def test_parse_args_rejects_bad_values(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"scripts/bench: error: {message}")


def test_parse_args_scale_cells():
    args = parse_args(["--scale-cells", "10, 50,64"])

    assert args.scale_cells == (10, 50, 64)


def _request(seq, start, status):
    return RequestResult(
        seq=seq,
        start=start,
        latency=0.002,
        status=status,
        error="" if status == 200 else f"{status}",
        method="GET",
        url="http://127.0.0.1:1/v1/orders",
        headers={},
        body=b"",
    )


def _record(setup_key, statuses, rate=100.0, spacing=0.01):
    requests = tuple(_request(i, 1000.0 + i * spacing, status) for i, status in enumerate(statuses))
    result = LoadResult(requested_rate=rate, requested_duration=1.0, timeout=2.0, requests=requests)
    setup = next(s for s in SETUPS if s.key == setup_key)
    running = SimpleNamespace(setup=setup)
    cpu = {"envoy": 0.1, "service": 0.1}
    revoked = 200 if setup_key == "a" else 403
    probe = {"allowed_status": 200, "revoked_status": revoked}
    return run_record(running, result, cpu, probe)


def test_run_record_keeps_up():
    record = _record("b", [200] * 100)

    assert record["saturated"] is False
    assert record["unexpected_statuses"] == 0


def test_run_record_saturated_by_failures():
    record = _record("b", [200] * 98 + [403] * 2)

    assert record["unexpected_statuses"] == 2
    assert record["saturated"] is True


def test_run_record_saturated_by_rate():
    # 100 requests 12.5 ms apart: 80 per second of the 100 requested.
    record = _record("b", [200] * 100, spacing=0.0125)

    assert record["rate_achieved"] == pytest.approx(80.0)
    assert record["saturated"] is True


def test_quick_fails_on_any_unexpected_status():
    results = {"quick": True, "edge": {"runs": [_record("b", [200] * 999 + [403])]}}

    (problem,) = harness_problems(results)

    assert problem.startswith("edge setup (b) at 100/s: 1 of 1000 requests did not return 200")


def test_full_run_warns_on_saturation():
    results = {"quick": False, "edge": {"runs": [_record("c", [200] * 90 + [0] * 10)]}}

    assert harness_problems(results) == []
    (warning,) = saturation_warnings(results)
    assert warning.startswith("edge setup (c) at 100/s: 10 of 100 requests did not return 200")
    assert warning.endswith("saturated, so its latencies measure queueing")


def test_full_run_fails_on_wrong_probe():
    record = _record("b", [200] * 100)
    record["probe"]["revoked_status"] = 200

    problems = harness_problems({"quick": False, "edge": {"runs": [record]}})

    assert problems == ["edge setup (b): a revoked caller got 200, expected 403"]


def test_full_run_fails_on_denied_probe():
    record = _record("d", [200] * 100)
    record["probe"]["allowed_status"] = 403

    problems = harness_problems({"quick": False, "edge": {"runs": [record]}})

    assert problems == ["edge setup (d): an allowed caller got 403 before the run, expected 200"]


def test_scale_failure_fails_run():
    results = {"quick": False, "scale": {"failures": ["preview of 100 cells failed"]}}

    assert harness_problems(results) == ["scale: preview of 100 cells failed"]


def test_failed_load_run_fails_run():
    failed = {"setup": "b", "rate_requested": 2000, "round": 1, "error": "vegeta timed out"}
    results = {"quick": False, "edge": {"runs": [], "failed_runs": [failed]}}

    assert harness_problems(results) == ["edge setup (b) at 2000/s, round 1: vegeta timed out"]


def test_propagation_failure_fails_run():
    results = {"quick": False, "propagation": {"trials": [], "failures": ["10 cells: timed out"]}}

    assert harness_problems(results) == ["propagation with 10 cells: timed out"]


def test_edge_failure_fails_run():
    results = {"quick": False, "edge_failure": "bundle build failed"}

    assert harness_problems(results) == ["edge: bundle build failed"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "invalid --rate 0: expected 1 to 5000 requests per second"),
        (["--seconds", "2"], "invalid --seconds 2: expected 5 to 300 seconds"),
        (["--seconds", "301"], "invalid --seconds 301: expected 5 to 300 seconds"),
    ],
)
def test_profile_rejects_bad_values(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_profile_args(argv)

    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == f"python -m bench.profile: error: {message}"
