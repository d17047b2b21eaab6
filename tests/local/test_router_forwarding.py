"""What the router forwards to a cell, and what it returns when a cell is out.

The router runs in front of an in-process echo server, which returns the request headers
it received, and a cell address where nothing listens, so that cell is always out.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from components.sidecar import RouterCell, RouterSpec, router_bootstrap, write_yaml
from components.sidecar.cell_assignment import cell_for_user
from localregion.ports import plan_ports
from localregion.readiness import Deadline, wait_until
from localregion.router_admin import cell_health
from localregion.supervisor import Supervisor

ENVOY = str(Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy")
CELLS = ["dead-1", "echo-1"]
USERS = [f"user-{i}" for i in range(20)]


class EchoHandler(BaseHTTPRequestHandler):
    """Handler that echoes the request headers as JSON; /healthz fails while `failing` is set."""

    failing = threading.Event()

    def do_GET(self) -> None:
        status = 503 if self.path == "/healthz" and self.failing.is_set() else 200
        body = json.dumps({name.lower(): value for name, value in self.headers.items()})
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-cell", "echo-1")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    """Yield the router's URL and admin URL."""
    directory = tmp_path_factory.mktemp("router-forwarding")
    plan = plan_ports(len(CELLS), 0)
    echo = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=echo.serve_forever, name="echo-cell", daemon=True)
    thread.start()
    try:
        spec = RouterSpec(
            region="local",
            cells=(
                # Nothing listens on this planned port.
                RouterCell("dead-1", "127.0.0.1", plan.cells[0].service),
                RouterCell("echo-1", "127.0.0.1", echo.server_address[1]),
            ),
            listen_port=plan.router,
            admin_port=plan.router_admin,
            health_check_interval_ms=300,
            health_check_timeout_ms=200,
        )
        config = write_yaml(router_bootstrap(spec), directory / "router.yaml")
        with Supervisor(directory / "logs") as supervisor:
            supervisor.start(
                "router",
                [ENVOY, "-c", str(config), "--disable-hot-restart", "--concurrency", "1",
                 "--log-level", "warn"],
            )  # fmt: skip
            admin_url = f"http://127.0.0.1:{plan.router_admin}"
            wait_until(
                lambda: cell_health(admin_url) == {"dead-1": False, "echo-1": True},
                "router to serve echo-1 only",
                Deadline(60),
                supervisor=supervisor,
                process="router",
            )
            yield f"http://127.0.0.1:{plan.router}", admin_url
    finally:
        echo.shutdown()
        echo.server_close()
        thread.join()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=5.0, trust_env=False) as session:
        yield session


def user_of(cell: str) -> str:
    return next(user for user in USERS if cell_for_user(user, CELLS) == cell)


def test_cell_header_is_not_forwarded(router, client):
    router_url, _ = router
    user = user_of("echo-1")

    response = client.get(
        f"{router_url}/v1/orders", headers={"x-user-id": user, "x-router-cell": "echo-1"}
    )

    assert response.status_code == 200
    assert response.json()["x-user-id"] == user
    assert "x-router-cell" not in response.json()


def test_client_cell_header_cannot_reach_other_cell(router, client):
    router_url, _ = router
    user = user_of("dead-1")

    response = client.get(
        f"{router_url}/v1/orders", headers={"x-user-id": user, "x-router-cell": "echo-1"}
    )

    assert response.status_code == 503
    assert response.json()["cell"] == "dead-1"


def test_user_of_cell_out_gets_json_503(router, client):
    router_url, _ = router

    response = client.get(f"{router_url}/v1/orders", headers={"x-user-id": user_of("dead-1")})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert "x-cell" not in response.headers
    assert response.json() == {
        "error": "cell dead-1 is unavailable: it fails the router's health checks; retry later",
        "cell": "dead-1",
    }


def test_health_path_skips_cell_out(router, client):
    router_url, _ = router

    response = client.get(f"{router_url}/healthz")

    assert response.status_code == 200
    assert response.headers["x-cell"] == "echo-1"


def test_health_path_with_every_cell_out(router, client):
    router_url, admin_url = router
    EchoHandler.failing.set()
    try:
        wait_until(
            lambda: cell_health(admin_url) == {"dead-1": False, "echo-1": False},
            "router to take echo-1 out",
            Deadline(30),
        )

        response = client.get(f"{router_url}/healthz")
    finally:
        EchoHandler.failing.clear()
        wait_until(
            lambda: cell_health(admin_url) == {"dead-1": False, "echo-1": True},
            "router to serve echo-1 again",
            Deadline(30),
        )

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "no cell is available; retry later"}
