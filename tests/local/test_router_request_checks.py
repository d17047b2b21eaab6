"""The router rejects a request without one usable user id, or with a too long path.

The router runs in front of two sample services directly (no sidecar or agent), so each
response shows whether a cell saw the request: the services name their cell in x-cell.
"""

import socket
import sys
from pathlib import Path

import httpx
import pytest

from components.sidecar import RouterCell, RouterSpec, router_bootstrap, write_yaml
from components.sidecar.cell_assignment import cell_for_user
from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.supervisor import Supervisor

ENVOY = str(Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy")
CELLS = ["eu-1", "us-1"]


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    """Return the URL of a router in front of two services."""
    directory = tmp_path_factory.mktemp("router-checks")
    plan = plan_ports(len(CELLS), 0)
    with Supervisor(directory / "logs") as supervisor:
        deadline = Deadline(60)
        for name, ports in zip(CELLS, plan.cells, strict=True):
            supervisor.start(
                name,
                [sys.executable, "-m", "localregion.service", "--cell", name,
                 "--port", str(ports.service), "--database", str(directory / f"{name}.db")],
            )  # fmt: skip
        for name, ports in zip(CELLS, plan.cells, strict=True):
            wait_until(
                http_status_is(f"http://127.0.0.1:{ports.service}/healthz"),
                f"service {name}",
                deadline,
                supervisor=supervisor,
                process=name,
            )
        spec = RouterSpec(
            region="local",
            cells=tuple(
                RouterCell(name, "127.0.0.1", ports.service)
                for name, ports in zip(CELLS, plan.cells, strict=True)
            ),
            listen_port=plan.router,
            admin_port=plan.router_admin,
            health_check_interval_ms=500,
            health_check_timeout_ms=250,
        )
        config = write_yaml(router_bootstrap(spec), directory / "router.yaml")
        supervisor.start(
            "router",
            [ENVOY, "-c", str(config), "--disable-hot-restart", "--concurrency", "1",
             "--log-level", "warn"],
        )  # fmt: skip
        url = f"http://127.0.0.1:{plan.router}"
        wait_until(
            lambda: all(
                cell_of(url, f"user-{i}") == cell_for_user(f"user-{i}", CELLS) for i in range(6)
            ),
            "router to route to both cells",
            deadline,
            supervisor=supervisor,
            process="router",
        )
        yield url


def cell_of(url: str, user: str) -> str | None:
    try:
        response = httpx.get(f"{url}/healthz", headers={"x-user-id": user}, trust_env=False)
    except httpx.HTTPError:
        return None
    return response.headers.get("x-cell") if response.status_code == 200 else None


def send_raw(url: str, request_head: str) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request head as written, so header lines can repeat."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request_head.encode("latin-1"))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def request_head(path: str, *header_lines: str, method: str = "GET") -> str:
    lines = [f"{method} {path} HTTP/1.1", "host: router", "connection: close", *header_lines]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_repeated_user_id_is_rejected(router):
    status, headers, body = send_raw(
        router,
        request_head(
            "/v1/orders",
            "x-user-id: b",
            "x-user-id: a",
            "content-length: 0",
            method="POST",
        ),
    )

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert "x-cell" not in headers
    assert body == (
        b'{"error": "header x-user-id is repeated or contains a comma; '
        b'send it once, without a comma"}'
    )


def test_repeated_user_id_in_two_spellings_is_rejected(router):
    status, headers, _ = send_raw(
        router, request_head("/v1/orders", "X-User-Id: b", "x-user-id: a")
    )

    assert status == 400
    assert "x-cell" not in headers


def test_user_id_with_comma_is_rejected(router):
    status, headers, body = send_raw(router, request_head("/v1/orders", "x-user-id: a,b"))

    assert status == 400
    assert "x-cell" not in headers
    assert b"repeated or contains a comma" in body


def test_missing_user_id_is_rejected(router):
    status, headers, body = send_raw(router, request_head("/v1/orders"))

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert "x-cell" not in headers
    assert body == b'{"error": "missing header x-user-id; send the user id in it"}'


def test_empty_user_id_is_rejected(router):
    status, headers, body = send_raw(router, request_head("/v1/orders", "x-user-id: "))

    assert status == 400
    assert "x-cell" not in headers
    assert body == b'{"error": "missing header x-user-id; send the user id in it"}'


def test_health_path_needs_no_user_id(router):
    status, headers, _ = send_raw(router, request_head("/healthz"))

    assert status == 200
    assert headers["x-cell"] in CELLS


def test_health_path_with_query_needs_no_user_id(router):
    status, headers, _ = send_raw(router, request_head("/healthz?verbose=1"))

    assert status == 200
    assert headers["x-cell"] in CELLS


def test_below_health_path_needs_user_id(router):
    status, headers, _ = send_raw(router, request_head("/healthz/v1/orders"))

    assert status == 400
    assert "x-cell" not in headers


def test_one_user_id_is_routed_to_its_cell(router):
    status, headers, _ = send_raw(router, request_head("/v1/orders", "x-user-id: user-7"))

    assert status == 200
    assert headers["x-cell"] == cell_for_user("user-7", CELLS)


def test_path_over_limit_is_rejected(router):
    path = "/v1/orders/" + "a" * 20_000

    status, headers, body = send_raw(router, request_head(path, "x-user-id: user-7"))

    assert status == 414
    assert headers["content-type"] == "application/json"
    assert "x-cell" not in headers
    assert body == b'{"error": "request path longer than 4096 bytes"}'


def test_path_at_limit_is_routed(router):
    path = "/v1/orders?" + "q" * (4096 - len("/v1/orders?"))
    over = path + "q"

    at_limit, at_headers, _ = send_raw(router, request_head(path, "x-user-id: user-7"))
    over_limit, _, _ = send_raw(router, request_head(over, "x-user-id: user-7"))

    assert len(path) == 4096
    assert at_limit == 200
    assert at_headers["x-cell"] == cell_for_user("user-7", CELLS)
    assert over_limit == 414
