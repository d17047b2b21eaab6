import pytest

from bench.edge.compare import combine_rounds, compare


def _run(setup, rate, p50, p90, p99, authz_cpu=None, total_cpu=100.0, round_number=1):
    cpu = {"envoy": 50.0, "service": 40.0, "total": total_cpu}
    if authz_cpu is not None:
        cpu["authz"] = authz_cpu
    return {
        "setup": setup,
        "rate_requested": rate,
        "round": round_number,
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99},
        "cpu_ms_per_1000_requests": cpu,
    }


RUNS = [
    _run("a", 500, 1.0, 2.0, 4.0),
    _run("b", 500, 1.25, 2.5, 4.5, authz_cpu=100.0),
    _run("c", 500, 1.5, 3.0, 6.0, authz_cpu=300.0),
    _run("d", 500, 6.5, 8.0, 10.0, authz_cpu=110.0),
]


def test_compare_overheads_over_no_authz():
    (comparison,) = compare(RUNS)

    assert comparison["rate"] == 500
    assert comparison["overhead_ms"]["b_over_a"] == {"p50": 0.25, "p90": 0.5, "p99": 0.5}
    assert comparison["overhead_ms"]["c_over_a"] == {"p50": 0.5, "p90": 1.0, "p99": 2.0}
    assert comparison["d_minus_b_ms"] == {"p50": 5.25, "p90": 5.5, "p99": 5.5}


def test_compare_ratios_stock_to_agent():
    (comparison,) = compare(RUNS)

    assert comparison["overhead_ratio_c_to_b"] == {"p50": 2.0, "p90": 2.0, "p99": 4.0}
    assert comparison["authz_cpu_ratio_c_to_b"] == 3.0


def test_compare_reports_targets_met():
    (comparison,) = compare(RUNS)

    assert comparison["targets"] == {"b_p99_overhead_below_1ms": True, "b_p99_below_c_p99": True}


def test_compare_reports_targets_missed():
    runs = [*RUNS[:1], _run("b", 500, 2.0, 4.0, 7.0, authz_cpu=100.0), *RUNS[2:]]
    (comparison,) = compare(runs)

    assert comparison["targets"] == {"b_p99_overhead_below_1ms": False, "b_p99_below_c_p99": False}


def test_compare_ratio_none_without_overhead():
    runs = [RUNS[0], _run("b", 500, 1.0, 2.0, 4.0, authz_cpu=100.0), *RUNS[2:]]
    (comparison,) = compare(runs)

    assert comparison["overhead_ratio_c_to_b"]["p50"] is None


def test_compare_skips_rate_missing_a_setup():
    assert compare(RUNS[:3]) == []


def test_combine_rounds_takes_median():
    runs = [
        _run("a", 500, 1.0, 2.0, 4.0, round_number=1),
        _run("a", 500, 3.0, 2.0, 4.0, round_number=2),
        _run("a", 500, 2.0, 2.0, 9.0, round_number=3),
    ]

    combined = combine_rounds(runs)[(500, "a")]

    assert combined["latency_ms"] == {"p50": 2.0, "p90": 2.0, "p99": 4.0}
    assert combined["rounds"] == 3
    assert combined["authz_cpu_ms_per_1000"] == pytest.approx(0.0)
