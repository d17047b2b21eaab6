"""One measured run: a setup at a fixed request rate, with its latency and CPU per request."""

from collections.abc import Callable

import httpx

from bench.edge.setups import RunningSetup
from bench.procstat import CpuMeter
from loadgen import LoadResult, Target, percentile, run_constant_rate

EXPECTED_STATUS = 200
# A run is saturated when the setup could not keep up with the requested rate: more than
# 1% of its requests got no 200 (timeouts, or a 403 from an authorization call that timed
# out), or the load generator started fewer than 95% of the requested requests per second.
# Its latencies then measure queueing, not the cost of authorization.
SATURATED_FAILED_SHARE = 0.01
SATURATED_RATE_SHARE = 0.95
TOKEN_TTL_SECONDS = 3600
USER_ID = "bench-user-1"
# Caller, method and path of each request, used in turn; every one is allowed by the
# region's routes, so the policy walks its whole allow path (token check, revocation,
# residency, route match).
ALLOWED_REQUESTS = (
    ("orders-web", "GET", "/v1/orders"),
    ("billing", "GET", "/v1/invoices"),
    ("billing", "GET", "/v1/orders"),
)
# A revoked caller, sent once before each run, so a setup that silently stopped authorizing
# shows up as a 200 where 403 is expected.
REVOKED_CALLER = "legacy-batch"
# Percentiles kept per run for the latency distribution plot.
SPECTRUM = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 100)


def allowed_targets(base_url: str, mint_token: Callable[[str], str]) -> list[Target]:
    """Return the load's targets against one setup's Envoy."""
    return [
        Target(
            base_url + path,
            method=method,
            headers={"authorization": f"Bearer {mint_token(caller)}", "x-user-id": USER_ID},
        )
        for caller, method, path in ALLOWED_REQUESTS
    ]


def probe(running: RunningSetup, mint_token: Callable[[str], str]) -> dict:
    """Send one allowed and one revoked request; return their statuses and decision reasons."""
    result = {}
    for label, caller in (("allowed", ALLOWED_REQUESTS[0][0]), ("revoked", REVOKED_CALLER)):
        response = httpx.get(
            running.url + "/v1/orders",
            headers={"authorization": f"Bearer {mint_token(caller)}", "x-user-id": USER_ID},
            timeout=5.0,
            trust_env=False,
        )
        result[f"{label}_status"] = response.status_code
        result[f"{label}_reason"] = response.headers.get("x-authz-reason")
    return result


def measure(
    running: RunningSetup,
    mint_token: Callable[[str], str],
    rate: int,
    duration: float,
    warmup: float,
    timeout: float,
) -> tuple[dict, LoadResult]:
    """Warm a setup up at rate, then measure it for duration seconds; return the run record."""
    checked = probe(running, mint_token)
    targets = allowed_targets(running.url, mint_token)
    if warmup > 0:
        run_constant_rate(targets, rate, warmup, timeout)

    meter = CpuMeter(running.pids)
    meter.start()
    result = run_constant_rate(targets, rate, duration, timeout)
    cpu = meter.stop()

    return run_record(running, result, cpu, checked), result


def run_record(running: RunningSetup, result: LoadResult, cpu: dict[str, float], checked: dict):
    """Summarize one run as plain JSON-ready values (latencies in ms)."""
    latencies = [value * 1000 for value in result.latencies()]
    statuses = result.status_counts()
    unexpected = result.count - statuses.get(EXPECTED_STATUS, 0)
    per_thousand = {name: seconds * 1000 / result.count * 1000 for name, seconds in cpu.items()}
    measured = ("envoy", "authz", "service")
    per_thousand["total"] = sum(per_thousand.get(name, 0.0) for name in measured)
    return {
        "setup": running.setup.key,
        "setup_name": running.setup.name,
        "rate_requested": result.requested_rate,
        "rate_achieved": round(result.achieved_rate, 2),
        "duration_s": result.requested_duration,
        "requests": result.count,
        "expected_status": EXPECTED_STATUS,
        "statuses": {str(code): count for code, count in statuses.items()},
        "unexpected_statuses": unexpected,
        "saturated": unexpected > SATURATED_FAILED_SHARE * result.count
        or result.achieved_rate < SATURATED_RATE_SHARE * result.requested_rate,
        "errors": result.errors(),
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99),
            "p99.9": percentile(latencies, 99.9),
            "max": max(latencies),
            "mean": sum(latencies) / len(latencies),
        },
        "cpu_seconds": cpu,
        # total counts Envoy, the authorization server and the service; the delay line of
        # setup (d) stands for the network and is reported apart.
        "cpu_ms_per_1000_requests": per_thousand,
        "probe": checked,
        "spectrum_ms": [[p, percentile(latencies, p)] for p in SPECTRUM],
    }
