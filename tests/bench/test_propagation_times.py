from types import SimpleNamespace

from bench.propagation import enforcement_times, summarize
from loadgen import LoadResult, RequestResult

PATH = "/v1/orders"


def _region(*names):
    cells = [
        SimpleNamespace(name=n, sidecar_url=f"http://127.0.0.1:{9000 + i}")
        for i, n in enumerate(names)
    ]
    return SimpleNamespace(cells=cells)


def _request(region, cell_index, start, status, reason=None, latency=0.01):
    return RequestResult(
        seq=0,
        start=start,
        latency=latency,
        status=status,
        error="",
        method="GET",
        url=region.cells[cell_index].sidecar_url + PATH,
        headers={"x-authz-reason": (reason,)} if reason else {},
        body=b"",
    )


def _revoked(region, cell_index, start):
    return _request(region, cell_index, start, 403, reason="revoked")


def _result(requests):
    return LoadResult(
        requested_rate=100, requested_duration=10, timeout=2, requests=tuple(requests)
    )


def test_enforcement_time_is_first_new_decision():
    region = _region("eu-1", "us-1")
    result = _result(
        [
            _request(region, 0, 99.0, 200),
            _request(region, 0, 100.5, 200),
            _revoked(region, 0, 101.0),
            _request(region, 1, 101.2, 200),
            _revoked(region, 1, 101.5),
        ]
    )

    times = enforcement_times(result, region, published=100.0, expected="revoked")

    assert round(times["eu-1"]["enforced_after_s"], 6) == 1.01
    assert round(times["us-1"]["enforced_after_s"], 6) == 1.51


def test_enforcement_ignores_requests_before_publish():
    region = _region("eu-1", "us-1")
    result = _result([_revoked(region, 0, 99.5), _revoked(region, 1, 100.1)])

    times = enforcement_times(result, region, published=100.0, expected="revoked")

    assert times["eu-1"] == {"enforced_after_s": None, "reverted": 0, "other": 0, "requests": 0}
    assert times["us-1"]["requests"] == 1


def test_enforcement_counts_reverted_decisions():
    region = _region("eu-1", "us-1")
    result = _result(
        [
            _revoked(region, 0, 100.1),
            _request(region, 0, 100.2, 200),
            _revoked(region, 0, 100.3),
        ]
    )

    times = enforcement_times(result, region, published=100.0, expected="revoked")

    assert times["eu-1"]["reverted"] == 1
    assert times["eu-1"]["requests"] == 3


def test_timeout_denial_is_not_enforcement():
    # Envoy denies with 403 when the authorization call times out; no reason "revoked".
    region = _region("eu-1")
    result = _result(
        [
            _request(region, 0, 100.1, 403, reason="timeout"),
            _request(region, 0, 100.2, 0),
            _revoked(region, 0, 100.3),
        ]
    )

    times = enforcement_times(result, region, published=100.0, expected="revoked")

    assert round(times["eu-1"]["enforced_after_s"], 6) == 0.31
    assert times["eu-1"]["other"] == 2
    assert times["eu-1"]["reverted"] == 0


def test_restore_enforced_by_first_allowed():
    region = _region("eu-1")
    result = _result(
        [
            _revoked(region, 0, 100.1),
            _request(region, 0, 100.2, 403),
            _request(region, 0, 100.4, 200),
            _revoked(region, 0, 100.5),
        ]
    )

    times = enforcement_times(result, region, published=100.0, expected="allowed")

    assert round(times["eu-1"]["enforced_after_s"], 6) == 0.41
    assert times["eu-1"]["other"] == 1
    assert times["eu-1"]["reverted"] == 1


def test_summarize_per_cell_count():
    trials = [
        {
            "cells": 2,
            "by_cell": {"a": {"enforced_after_s": 1.0}, "b": {"enforced_after_s": 3.0}},
            "cells_not_enforced": [],
        },
        {
            "cells": 2,
            "by_cell": {"a": {"enforced_after_s": 2.0}, "b": {"enforced_after_s": None}},
            "cells_not_enforced": ["b"],
        },
    ]

    assert summarize(trials) == [
        {"cells": 2, "trials": 2, "median_s": 2.0, "max_s": 3.0, "not_enforced": 1}
    ]
