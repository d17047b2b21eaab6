"""The sample service reads and writes its own cell's database, per user."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.service import open_database
from localregion.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]


def service_argv(cell: str, port: int, database: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "localregion.service",
        "--cell",
        cell,
        "--port",
        str(port),
        "--database",
        str(database),
    ]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """Two services, eu-1 and us-1, each with its own database file."""
    directory = tmp_path_factory.mktemp("services")
    plan = plan_ports(2, 0)
    urls = {}
    with Supervisor(directory / "logs") as supervisor:
        for cell, ports in zip(("eu-1", "us-1"), plan.cells, strict=True):
            supervisor.start(cell, service_argv(cell, ports.service, directory / f"{cell}.db"))
            urls[cell] = f"http://127.0.0.1:{ports.service}"
        for cell, url in urls.items():
            wait_until(
                http_status_is(f"{url}/healthz"),
                f"service {cell}",
                Deadline(60),
                supervisor=supervisor,
                process=cell,
            )
        yield urls


@pytest.fixture
def client():
    with httpx.Client(timeout=5.0, trust_env=False) as session:
        yield session


def test_health_and_readiness_name_cell(services, client):
    health = client.get(f"{services['eu-1']}/healthz")
    ready = client.get(f"{services['eu-1']}/readyz")

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "cell": "eu-1"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "cell": "eu-1"}
    assert health.headers["x-cell"] == "eu-1"


def test_order_round_trip_writes_invoice(services, client):
    url = services["us-1"]
    headers = {"x-user-id": "user-round-trip"}

    created = client.post(f"{url}/v1/orders", headers=headers, json={"item": "pen", "quantity": 4})
    order_id = created.json()["id"]
    listed = client.get(f"{url}/v1/orders", headers=headers).json()["orders"]
    fetched = client.get(f"{url}/v1/orders/{order_id}", headers=headers)
    invoices = client.get(f"{url}/v1/invoices", headers=headers).json()["invoices"]

    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/orders/{order_id}"
    assert [(order["id"], order["item"], order["quantity"]) for order in listed] == [
        (order_id, "pen", 4)
    ]
    assert fetched.status_code == 200
    assert fetched.json()["item"] == "pen"
    assert [(i["order_id"], i["amount_cents"]) for i in invoices] == [(order_id, 4 * 1250)]


def test_delete_removes_order_and_invoice(services, client):
    url = services["us-1"]
    headers = {"x-user-id": "user-delete"}
    order_id = client.post(
        f"{url}/v1/orders", headers=headers, json={"item": "ink", "quantity": 1}
    ).json()["id"]

    deleted = client.delete(f"{url}/v1/orders/{order_id}", headers=headers)
    again = client.delete(f"{url}/v1/orders/{order_id}", headers=headers)
    invoices = client.get(f"{url}/v1/invoices", headers=headers).json()["invoices"]

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert again.json() == {"error": f"order {order_id} of user user-delete not found"}
    assert invoices == []


def test_other_users_order_is_hidden(services, client):
    url = services["us-1"]
    order_id = client.post(
        f"{url}/v1/orders", headers={"x-user-id": "user-owner"}, json={"item": "cup", "quantity": 2}
    ).json()["id"]
    other = {"x-user-id": "user-other"}

    fetched = client.get(f"{url}/v1/orders/{order_id}", headers=other)
    deleted = client.delete(f"{url}/v1/orders/{order_id}", headers=other)
    still_there = client.get(f"{url}/v1/orders/{order_id}", headers={"x-user-id": "user-owner"})

    assert fetched.status_code == 404
    assert deleted.status_code == 404
    assert still_there.status_code == 200


def test_cells_do_not_share_orders(services, client):
    headers = {"x-user-id": "user-isolated"}

    created = client.post(
        f"{services['eu-1']}/v1/orders", headers=headers, json={"item": "map", "quantity": 1}
    )
    in_eu = client.get(f"{services['eu-1']}/v1/orders", headers=headers).json()["orders"]
    in_us = client.get(f"{services['us-1']}/v1/orders", headers=headers).json()["orders"]

    assert created.status_code == 201
    assert created.headers["x-cell"] == "eu-1"
    assert [order["item"] for order in in_eu] == ["map"]
    assert in_us == []


def test_profile_put_then_get(services, client):
    url = services["eu-1"]
    body = {"display_name": "User Nine", "email": "user-9@example.com"}

    put = client.put(f"{url}/v1/profiles/user-9", json=body)
    replaced = client.put(f"{url}/v1/profiles/user-9", json={**body, "display_name": "Nine"})
    fetched = client.get(f"{url}/v1/profiles/user-9")
    missing = client.get(f"{url}/v1/profiles/user-nobody")

    assert put.status_code == 200
    assert replaced.json()["display_name"] == "Nine"
    assert fetched.json()["email"] == "user-9@example.com"
    assert fetched.json()["display_name"] == "Nine"
    assert missing.status_code == 404
    assert missing.json() == {"error": "profile user-nobody not found"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "message"),
    [
        ("GET", "/v1/orders", {}, None, 400, "missing header x-user-id"),
        ("GET", "/v1/orders/1", {}, None, 400, "missing header x-user-id"),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b"{not json",
            400,
            'invalid JSON body; expected {"item": str, "quantity": int}',
        ),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b"\xff\xfe",
            400,
            'invalid JSON body; expected {"item": str, "quantity": int}',
        ),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b'{"item": "", "quantity": 1}',
            400,
            "invalid item ''; expected a non-empty string",
        ),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b'{"item": "pen", "quantity": true}',
            400,
            "invalid quantity True; expected an integer",
        ),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b'{"item": "pen", "quantity": 1001}',
            400,
            "invalid quantity 1001; expected 1 to 1000",
        ),
        (
            "POST",
            "/v1/orders",
            {"x-user-id": "u"},
            b"[1, 2]",
            400,
            "invalid item None; expected a non-empty string",
        ),
        (
            "PUT",
            "/v1/profiles/u",
            {},
            b'{"display_name": "U"}',
            400,
            "invalid email None; expected a non-empty string",
        ),
    ],
)
def test_bad_request_gets_one_line_error(
    services, client, method, path, headers, content, status, message
):
    response = client.request(
        method,
        services["us-1"] + path,
        headers={"content-type": "application/json", **headers},
        content=content,
    )

    assert response.status_code == status
    assert response.json() == {"error": message}
    assert response.headers["x-cell"] == "us-1"


def test_unknown_route_is_404_with_cell(services, client):
    response = client.get(f"{services['us-1']}/v1/shipments")

    assert response.status_code == 404
    assert response.headers["x-cell"] == "us-1"


def test_database_of_another_cell_is_rejected(tmp_path):
    database = tmp_path / "eu-1.db"
    open_database(database, "eu-1").close()

    result = subprocess.run(
        service_argv("us-1", plan_ports(2, 0).router, database),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"python -m localregion.service: error: database {database} belongs to cell eu-1, "
        "not us-1; every cell needs its own database file\n"
    )


def test_unusable_database_path_is_one_line(tmp_path):
    database = tmp_path / "missing-directory" / "us-1.db"

    result = subprocess.run(
        service_argv("us-1", plan_ports(2, 0).router, database),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"python -m localregion.service: error: cannot open database {database}: "
        "unable to open database file\n"
    )
