"""Single HTTP requests sent exactly as written, for probes and hostile inputs.

http.client sends the request target unchanged: no dot-segment removal, no re-encoding,
no merging of slashes. That matters here, because a client that cleans up
`/v1/orders/../invoices` before sending it would hide the very input a drill tests.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

# Loopback only: every drill request goes to a server that the local region started.
HOST = "127.0.0.1"
DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Response:
    """The response to one request. status is 0 when no response arrived."""

    status: int
    latency: float
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def cell(self) -> str | None:
        """The cell whose service responded, or None when the request reached no service."""
        return self.header("x-cell")

    @property
    def reason(self) -> str | None:
        """The policy rule that decided (x-authz-reason), when the agent decided."""
        return self.header("x-authz-reason")


def send(
    port: int,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]] = (),
    *,
    body: bytes = b"",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Response:
    """Send one request to 127.0.0.1:port on a new connection and read the response.

    headers are sent in order, duplicates included. Connection and timeout errors do not
    raise: they return status 0 with the error, because a drill counts them as failures.
    """
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    start = time.monotonic()
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body:
            connection.putheader("content-length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        payload = response.read()
        latency = time.monotonic() - start
        received: dict[str, str] = {}
        for name, value in response.getheaders():
            received.setdefault(name.lower(), value)
        return Response(response.status, latency, received, payload)
    except (TimeoutError, OSError, http.client.HTTPException) as error:
        return Response(0, time.monotonic() - start, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()
