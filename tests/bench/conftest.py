"""A small HTTP server on loopback for the load generator's tests."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    # /ok answers 200 "ok", /deny answers 403, /hang answers only when the test ends;
    # any other path answers 404. The request's x-caller header is echoed back.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/hang":
            self.server.release.wait()
        status = {"/ok": 200, "/deny": 403, "/hang": 200}.get(self.path, 404)
        body = b"ok" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-caller-echo", self.headers.get("x-caller", ""))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server():
    """Yield the base URL of a threaded HTTP server on 127.0.0.1, stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
