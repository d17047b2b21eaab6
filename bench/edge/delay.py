"""Calibration of the delay line: the round trip it adds, measured through a TCP echo server."""

import socket
import subprocess
import threading
import time
from pathlib import Path

from bench.ports import free_ports
from loadgen import percentile

ROOT = Path(__file__).resolve().parents[2]
DELAY_PROXY = ROOT / ".tools" / "bin" / "delay-proxy"
CONNECT_TIMEOUT_SECONDS = 10.0


def calibrate(one_way_delay_ms: float, round_trips: int = 200) -> dict:
    """Return the round-trip times, in ms, of small messages with and without the delay line."""
    with _EchoServer() as echo:
        direct = _round_trips(echo.port, round_trips)
        (proxy_port,) = free_ports(1)
        proxy = subprocess.Popen(
            [
                str(DELAY_PROXY),
                "-listen",
                f"127.0.0.1:{proxy_port}",
                "-target",
                f"127.0.0.1:{echo.port}",
                "-one-way-delay",
                f"{one_way_delay_ms * 1000:.0f}us",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            delayed = _round_trips(proxy_port, round_trips)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    return {
        "one_way_delay_ms": one_way_delay_ms,
        "round_trips": round_trips,
        "direct_rtt_ms": _points(direct),
        "delayed_rtt_ms": _points(delayed),
        "added_rtt_ms_p50": percentile(delayed, 50) - percentile(direct, 50),
    }


def _points(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values)}


def _round_trips(port: int, count: int) -> list[float]:
    connection = _connect(port)
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            connection.sendall(b"ping")
            received = b""
            while len(received) < 4:
                chunk = connection.recv(4 - len(received))
                if not chunk:
                    raise ConnectionError(f"127.0.0.1:{port} closed the connection")
                received += chunk
            times.append((time.perf_counter() - started) * 1000)
    return times


def _connect(port: int) -> socket.socket:
    # The proxy may still be binding its port: retry refused connections until a deadline.
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class _EchoServer:
    """A TCP echo server on 127.0.0.1 in a thread, one connection at a time."""

    def __enter__(self) -> "_EchoServer":
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while data := connection.recv(4096):
                    connection.sendall(data)

    def __exit__(self, *exc_info) -> None:
        self._listener.close()
        self._thread.join(timeout=10)
