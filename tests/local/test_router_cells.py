"""The router Envoy sends each user to the cell that cell_assignment names, healthy or not.

The router runs in front of three sample services directly (no sidecar or agent), so
this checks the generated router configuration and its Lua filter on their own.
"""

import sys
from pathlib import Path

import httpx
import pytest

from components.sidecar import RouterCell, RouterSpec, router_bootstrap, write_yaml
from components.sidecar.cell_assignment import cell_for_user
from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.router_admin import cell_health
from localregion.supervisor import Supervisor

ENVOY = str(Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy")
CELLS = ["eu-1", "us-1", "us-2"]
# More than 200 ids, and some with characters that are not letters or digits.
USERS = [f"user-{i}" for i in range(240)] + ["a", "alice@example.com", "x" * 200, "~!$%&*+"]


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    directory = tmp_path_factory.mktemp("router-ring")
    plan = plan_ports(len(CELLS), 0)
    with Supervisor(directory / "logs") as supervisor:
        deadline = Deadline(60)
        for name, ports in zip(CELLS, plan.cells, strict=True):
            supervisor.start(
                name,
                [
                    sys.executable,
                    "-m",
                    "localregion.service",
                    "--cell",
                    name,
                    "--port",
                    str(ports.service),
                    "--database",
                    str(directory / f"{name}.db"),
                ],
            )
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
            # A stopped cell is ejected for this long; short, so a test can bring it back.
            base_ejection_time_ms=1_000,
        )
        config = write_yaml(router_bootstrap(spec), directory / "router.yaml")
        supervisor.start(
            "router",
            [
                ENVOY,
                "-c",
                str(config),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warn",
            ],
        )
        wait_until(
            lambda: all(routes(f"http://127.0.0.1:{plan.router}", user) for user in USERS[:10]),
            "router to route",
            deadline,
            supervisor=supervisor,
            process="router",
        )
        ports = {"admin": plan.router_admin, **dict(zip(CELLS, plan.cells, strict=True))}
        yield (
            f"http://127.0.0.1:{plan.router}",
            supervisor,
            ports,
        )


def routes(router_url: str, user: str) -> bool:
    try:
        response = httpx.get(f"{router_url}/healthz", headers={"x-user-id": user}, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=5.0, trust_env=False) as session:
        yield session


def get(client: httpx.Client, router_url: str, user: str | None, **headers: str) -> httpx.Response:
    if user is not None:
        headers["x-user-id"] = user
    return client.get(f"{router_url}/healthz", headers=headers)


def served_by(client: httpx.Client, router_url: str, user: str) -> str:
    response = get(client, router_url, user)
    assert response.status_code == 200
    return response.headers["x-cell"]


def start_service(supervisor, ports, name: str) -> None:
    supervisor.start(
        name,
        [
            sys.executable,
            "-m",
            "localregion.service",
            "--cell",
            name,
            "--port",
            str(ports[name].service),
            "--database",
            str(supervisor.log_dir.parent / f"{name}.db"),
        ],
    )


def test_router_matches_cell_assignment(router, client):
    router_url, _, _ = router

    actual = {user: served_by(client, router_url, user) for user in USERS}

    assert len(actual) >= 200
    assert actual == {user: cell_for_user(user, CELLS) for user in USERS}


def test_same_user_always_same_cell(router, client):
    router_url, _, _ = router

    cells = {served_by(client, router_url, "user-42") for _ in range(10)}

    assert cells == {cell_for_user("user-42", CELLS)}


def test_users_spread_over_every_cell(router, client):
    router_url, _, _ = router

    assert {served_by(client, router_url, user) for user in USERS} == set(CELLS)


def test_client_cannot_choose_cell(router, client):
    router_url, _, _ = router
    assigned = cell_for_user("user-42", CELLS)
    other = next(cell for cell in CELLS if cell != assigned)

    response = get(client, router_url, "user-42", **{"x-router-cell": other})

    assert response.status_code == 200
    assert response.headers["x-cell"] == assigned


def test_health_path_without_user_goes_to_first_cell(router, client):
    router_url, _, _ = router

    response = get(client, router_url, None, **{"x-router-cell": "us-2"})

    assert response.status_code == 200
    assert response.headers["x-cell"] == "eu-1"


def test_stopped_cell_moves_no_user(router, client):
    router_url, supervisor, ports = router
    admin_url = f"http://127.0.0.1:{ports['admin']}"
    stopped_users = [user for user in USERS if cell_for_user(user, CELLS) == "eu-1"]
    other_users = [user for user in USERS if cell_for_user(user, CELLS) != "eu-1"]
    supervisor.stop("eu-1")
    try:
        wait_until(
            lambda: cell_health(admin_url) == {"eu-1": False, "us-1": True, "us-2": True},
            "router to take eu-1 out",
            Deadline(30),
        )

        others = {user: served_by(client, router_url, user) for user in other_users}
        rejected = [get(client, router_url, user) for user in stopped_users]
        health = get(client, router_url, None)
    finally:
        start_service(supervisor, ports, "eu-1")
        wait_until(
            lambda: cell_health(admin_url) == dict.fromkeys(CELLS, True),
            "router to serve eu-1 again",
            Deadline(30),
            supervisor=supervisor,
            process="eu-1",
        )
    # The router sends traffic to a cell again about one health-check interval after its
    # admin shows it healthy (the NOTE in components/sidecar/envoy_router.py).
    wait_until(
        lambda: get(client, router_url, stopped_users[0]).status_code == 200,
        "router to send eu-1's users to eu-1 again",
        Deadline(30),
    )
    back = {user: served_by(client, router_url, user) for user in stopped_users}

    assert len(stopped_users) > 50
    assert others == {user: cell_for_user(user, CELLS) for user in other_users}
    assert {response.status_code for response in rejected} == {503}
    assert {response.headers["content-type"] for response in rejected} == {"application/json"}
    assert {"x-cell" in response.headers for response in rejected} == {False}
    assert rejected[0].json() == {
        "error": "cell eu-1 is unavailable: it fails the router's health checks; retry later",
        "cell": "eu-1",
    }
    # The health path without a user id falls back to the next cell in the spec.
    assert health.status_code == 200
    assert health.headers["x-cell"] == "us-1"
    assert back == dict.fromkeys(stopped_users, "eu-1")
