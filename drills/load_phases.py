"""Split a load run into phases by request start time, and summarise each phase."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loadgen import LoadResult, RequestResult, percentile


@dataclass(frozen=True)
class PhaseSummary:
    """Requests of one phase: how many, how many failed, latency percentiles in ms."""

    phase: str
    sent: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def split_phases(
    result: LoadResult, boundaries: Sequence[tuple[str, float, float]]
) -> dict[str, list[RequestResult]]:
    """Return the requests whose start falls in each (name, start, end) window (Unix time)."""
    phases: dict[str, list[RequestResult]] = {name: [] for name, _, _ in boundaries}
    for request in result.requests:
        for name, start, end in boundaries:
            if start <= request.start < end:
                phases[name].append(request)
                break
    return phases


def summarise(phase: str, requests: Sequence[RequestResult], expected_status: int) -> PhaseSummary:
    """Summarise requests; a request failed when its status is not expected_status."""
    failed = sum(1 for request in requests if request.status != expected_status)
    latencies = [request.latency * 1000 for request in requests]
    if not latencies:
        return PhaseSummary(phase, 0, 0, None, None, None)
    return PhaseSummary(
        phase,
        len(requests),
        failed,
        percentile(latencies, 50),
        percentile(latencies, 99),
        max(latencies),
    )


def describe_failure(request: RequestResult) -> str:
    """Describe a failed request: its status and who produced it.

    A denial by the policy names its rule in x-authz-reason. A 403 without it comes from
    the sidecar itself, which denies when the agent fails or exceeds the ext_authz timeout.
    """
    if request.status == 0:
        return f"no response ({request.error})"
    reason = request.header("x-authz-reason")
    if reason:
        return f"{request.status} {reason}"
    return f"{request.status} without x-authz-reason"


def failure_counts(requests: Sequence[RequestResult], expected_status: int) -> dict[str, int]:
    """Return the number of failed requests per description, most frequent first."""
    counts: dict[str, int] = {}
    for request in requests:
        if request.status != expected_status:
            description = describe_failure(request)
            counts[description] = counts.get(description, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def failure_examples(requests: Sequence[RequestResult], expected_status: int, limit: int = 3):
    """Return up to limit failure descriptions with their counts, for a check's detail."""
    counts = failure_counts(requests, expected_status)
    return [f"{count} x {description}" for description, count in list(counts.items())[:limit]]


def split_windows(
    requests: Sequence[RequestResult], start: float, end: float, width: float
) -> list[tuple[float, list[RequestResult]]]:
    """Return (offset from start, requests) for each window of width seconds in [start, end).

    Latency per window shows drift over a run. Drift before a fault comes from the machine.
    """
    if width <= 0:
        raise ValueError(f"invalid window width {width}: expected seconds above 0")
    count = max(1, math.ceil((end - start) / width))
    windows: list[list[RequestResult]] = [[] for _ in range(count)]
    for request in requests:
        if start <= request.start < end:
            windows[min(int((request.start - start) // width), count - 1)].append(request)
    return [(index * width, window) for index, window in enumerate(windows)]
