"""Split a load run into phases by request start time, and summarise each phase."""

from __future__ import annotations

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


def failure_examples(requests: Sequence[RequestResult], expected_status: int, limit: int = 3):
    """Return up to limit short descriptions of failed requests, for a check's detail."""
    examples = []
    for request in requests:
        if request.status != expected_status:
            examples.append(f"{request.status} {request.error or ''}".strip())
        if len(examples) == limit:
            break
    return examples
