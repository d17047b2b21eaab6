"""The router Envoy sends each user to the cell that the ring-hash prediction names.

The router runs in front of three sample services directly (no sidecar or agent), so
this checks the generated router configuration and localregion.ring on their own.
"""

import sys
from pathlib import Path

import httpx
import pytest

from components.sidecar import RouterCell, RouterSpec, router_bootstrap, write_yaml
from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.ring import cell_for_user
from localregion.router_admin import cell_health
from localregion.supervisor import Supervisor

ENVOY = str(Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy")
CELLS = ["eu-1", "us-1", "us-2"]
USERS = [f"user-{i}" for i in range(60)]


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


def served_by(router_url: str, user: str) -> str:
    response = httpx.get(f"{router_url}/healthz", headers={"x-user-id": user}, trust_env=False)
    assert response.status_code == 200
    return response.headers["x-cell"]


def test_router_matches_ring_prediction(router):
    router_url, _, _ = router

    actual = {user: served_by(router_url, user) for user in USERS}

    assert actual == {user: cell_for_user(user, CELLS) for user in USERS}


def test_same_user_always_same_cell(router):
    router_url, _, _ = router

    cells = {served_by(router_url, "user-42") for _ in range(10)}

    assert cells == {cell_for_user("user-42", CELLS)}


def test_users_spread_over_every_cell(router):
    router_url, _, _ = router

    assert {served_by(router_url, user) for user in USERS} == set(CELLS)


def test_stopped_cell_leaves_ring_as_predicted(router):
    router_url, supervisor, ports = router
    admin_url = f"http://127.0.0.1:{ports['admin']}"
    before = {user: served_by(router_url, user) for user in USERS}
    survivors = ["eu-1", "us-1"]
    supervisor.stop("us-2")
    try:
        wait_until(
            lambda: cell_health(admin_url) == {"eu-1": True, "us-1": True, "us-2": False},
            "router to take us-2 off its ring",
            Deadline(30),
        )

        after = {user: served_by(router_url, user) for user in USERS}
    finally:
        supervisor.start(
            "us-2",
            [
                sys.executable,
                "-m",
                "localregion.service",
                "--cell",
                "us-2",
                "--port",
                str(ports["us-2"].service),
                "--database",
                str(supervisor.log_dir.parent / "us-2.db"),
            ],
        )
        wait_until(
            lambda: cell_health(admin_url) == dict.fromkeys(CELLS, True),
            "router to put us-2 back on its ring",
            Deadline(30),
            supervisor=supervisor,
            process="us-2",
        )

    # Envoy rebuilds the ring with more entries per remaining cell, so besides the users
    # of us-2 some users of the other cells move too; the prediction models both.
    assert after == {user: cell_for_user(user, survivors) for user in USERS}
    assert "us-2" in before.values()
    assert "us-2" not in after.values()
