"""Targets of a load run and the per-request results it records."""

import base64
import ipaddress
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from loadgen.errors import LoadgenError
from loadgen.stats import percentile


@dataclass(frozen=True)
class Target:
    """One HTTP request that a load run sends; a run cycles through its targets in order."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadgenError(
                f"invalid target url {self.url!r}: expected http://127.0.0.1:PORT/PATH"
            )
        if not _is_loopback(parts.hostname):
            raise LoadgenError(
                f"invalid target url {self.url!r}: load is sent to loopback only, "
                "use a host such as 127.0.0.1 or localhost"
            )

    def to_vegeta(self) -> dict:
        """Return the target in vegeta's JSON target format."""
        target = {
            "method": self.method,
            "url": self.url,
            "header": {name: [value] for name, value in self.headers.items()},
        }
        if self.body:
            target["body"] = base64.b64encode(self.body).decode("ascii")
        return target


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RequestResult:
    """One request of a run. Times are in seconds; start is a Unix timestamp.

    status is 0 when no response arrived (timeout, refused connection), with error saying why.
    headers are the response headers, lower-cased, and body is at most the run's max_body bytes.
    """

    seq: int
    start: float
    latency: float
    status: int
    error: str
    method: str
    url: str
    headers: Mapping[str, tuple[str, ...]]
    body: bytes

    @property
    def end(self) -> float:
        return self.start + self.latency

    def header(self, name: str) -> str | None:
        """Return the first value of a response header, or None when it is absent."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True)
class LoadResult:
    """The requests of one constant-rate run, in start order, with the rate that was requested."""

    requested_rate: float
    requested_duration: float
    timeout: float
    requests: tuple[RequestResult, ...]

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def achieved_rate(self) -> float:
        """Requests started per second, measured between the first and the last start."""
        if len(self.requests) < 2:
            return 0.0
        span = self.requests[-1].start - self.requests[0].start
        return (len(self.requests) - 1) / span if span > 0 else 0.0

    def status_counts(self) -> dict[int, int]:
        """Return the number of requests per status code (0 for no response)."""
        return dict(sorted(Counter(r.status for r in self.requests).items()))

    def latencies(self, status: int | None = None) -> list[float]:
        """Return latencies in seconds, of every request or of those with one status."""
        return [r.latency for r in self.requests if status is None or r.status == status]

    def latency_percentiles(self, points=(50, 90, 99), status: int | None = None) -> dict:
        """Return {p: latency in seconds} over the selected requests; empty when there are none."""
        values = self.latencies(status)
        if not values:
            return {}
        return {p: percentile(values, p) for p in points}

    def errors(self) -> dict[str, int]:
        """Return the number of requests per transport error message."""
        return dict(Counter(r.error for r in self.requests if r.error))
