"""Paced (open-loop) HTTP load against loopback servers, driven by vegeta.

Requests start on a fixed schedule whatever the server's latency, so a slow server shows up as
latency rather than as a lower request rate (no coordinated omission). Every request is kept
with its start time, latency and status, for benchmarks and reliability drills alike.
"""

from loadgen.errors import LoadgenError
from loadgen.model import LoadResult, RequestResult, Target
from loadgen.runner import LoadRun, run_constant_rate, start_constant_rate
from loadgen.stats import percentile

__all__ = [
    "LoadResult",
    "LoadRun",
    "LoadgenError",
    "RequestResult",
    "Target",
    "percentile",
    "run_constant_rate",
    "start_constant_rate",
]
