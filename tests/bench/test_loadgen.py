import pytest

from loadgen import LoadgenError, Target, percentile, run_constant_rate, start_constant_rate


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 75, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 76, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        (list(range(1, 1001)), 99, 990),
        (list(range(1, 1001)), 99.9, 999),
    ],
)
def test_percentile_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


@pytest.mark.parametrize(("values", "p"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_bad_input(values, p):
    with pytest.raises(ValueError):
        percentile(values, p)


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://example.com/", "ftp://127.0.0.1/", "127.0.0.1:80"],
)
def test_target_rejects_non_loopback_urls(url):
    with pytest.raises(LoadgenError, match="invalid target url"):
        Target(url)


@pytest.mark.parametrize(
    ("rate", "duration", "timeout", "message"),
    [
        (0, 1, 1, "invalid rate 0"),
        (10, -1, 1, "invalid duration -1"),
        (10, 1, 0, "invalid timeout 0"),
        (0.5, 1, 1, "sends no request"),
    ],
)
def test_run_rejects_bad_arguments(http_server, rate, duration, timeout, message):
    with pytest.raises(LoadgenError, match=message):
        run_constant_rate([Target(http_server + "/ok")], rate, duration, timeout)


def test_run_sends_rate_times_duration_requests(http_server):
    result = run_constant_rate([Target(http_server + "/ok")], rate=100, duration=1.0)

    assert result.count == 100
    assert result.status_counts() == {200: 100}
    assert result.requested_rate == 100
    assert result.achieved_rate == pytest.approx(100, rel=0.1)


def test_run_records_each_request(http_server):
    result = run_constant_rate([Target(http_server + "/ok")], rate=20, duration=0.5)
    first = result.requests[0]

    assert first.status == 200
    assert first.error == ""
    assert first.method == "GET"
    assert first.url == http_server + "/ok"
    assert first.body == b"ok"
    assert first.latency > 0
    assert first.end == first.start + first.latency
    assert [r.start for r in result.requests] == sorted(r.start for r in result.requests)


def test_run_cycles_through_targets_with_headers(http_server):
    targets = [
        Target(http_server + "/ok", headers={"x-caller": "orders-web"}),
        Target(http_server + "/deny", headers={"x-caller": "billing"}),
    ]
    result = run_constant_rate(targets, rate=20, duration=1.0)

    assert result.status_counts() == {200: 10, 403: 10}
    echoed = {r.status: r.header("x-caller-echo") for r in result.requests}
    assert echoed == {200: "orders-web", 403: "billing"}


def test_run_records_timeouts_as_status_zero(http_server):
    result = run_constant_rate([Target(http_server + "/hang")], rate=4, duration=0.5, timeout=0.2)

    assert result.status_counts() == {0: 2}
    assert all("timeout" in r.error.lower() for r in result.requests)


def test_stop_ends_a_run_early(http_server):
    with start_constant_rate([Target(http_server + "/ok")], rate=50, duration=60) as run:
        run.stop()
        result = run.wait()

    assert result.count < 50 * 60
    assert set(result.status_counts()) <= {200}
