"""Requests through the router and straight at cells get the policy's decisions."""

import httpx
import pytest

from components.sidecar.cell_assignment import cell_for_user
from localregion.cases import CASE_HEADER, standard_cases
from localregion.check import case_headers, run_case
from localregion.decisions import (
    decision_for_header,
    input_with_erased_headers,
    read_decisions,
)
from localregion.readiness import Deadline, wait_until

pytestmark = pytest.mark.local_region

CELLS = ["eu-1", "us-1", "us-2"]
CASES = standard_cases(CELLS)


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=5.0, trust_env=False) as session:
        yield session


@pytest.mark.parametrize(
    ("number", "case"), list(enumerate(CASES, 1)), ids=[case.name for case in CASES]
)
def test_case_gets_expected_response(region, client, number, case):
    result = run_case(region, case, number, client)

    assert result.status == case.expected_status
    assert result.reason == case.expected_reason
    assert result.cell == case.expected_cell


def test_region_has_expected_cells(region):
    assert [(cell.name, cell.jurisdiction) for cell in region.cells] == [
        ("eu-1", "eu"),
        ("us-1", "us"),
        ("us-2", "us"),
    ]


def test_router_sends_each_user_to_predicted_cell(region, client):
    token = region.token("orders-web")
    users = [f"user-{i}" for i in range(40)]

    served = {
        user: client.get(
            f"{region.router_url}/v1/orders",
            headers={"authorization": f"Bearer {token}", "x-user-id": user},
        ).headers.get("x-cell")
        for user in users
    }

    assert served == {user: cell_for_user(user, CELLS) for user in users}


def test_every_cell_serves_from_own_database(region, client):
    token = region.token("orders-web")
    headers = {"authorization": f"Bearer {token}", "x-user-id": "user-db"}

    created = client.post(
        f"{region.cell('us-2').sidecar_url}/v1/orders",
        headers=headers,
        json={"item": "pen", "quantity": 1},
    )
    lists = {
        cell.name: client.get(f"{cell.sidecar_url}/v1/orders", headers=headers).json()["orders"]
        for cell in region.cells
    }

    assert created.status_code == 201
    assert [order["item"] for order in lists["us-2"]] == ["pen"]
    assert lists["eu-1"] == []
    assert lists["us-1"] == []
    assert len({str(cell.database_path) for cell in region.cells}) == 3


def test_allowed_read_returns_service_data(region, client):
    token = region.token("billing")
    response = client.get(
        f"{region.cell('us-1').sidecar_url}/v1/invoices",
        headers={"authorization": f"Bearer {token}", "x-user-id": "user-7"},
    )

    assert response.status_code == 200
    assert response.json() == {"invoices": []}


@pytest.mark.parametrize(
    ("number", "case"), list(enumerate(CASES, 1)), ids=[case.name for case in CASES]
)
def test_agent_decision_matches_stock_opa(region, stock_opa, client, number, case):
    # A fresh case number, so this request's decision is told apart from earlier ones.
    marker = f"differential-{number}"
    headers = {**case_headers(region, case, number), CASE_HEADER: marker}
    target = region.router_url if case.target == "router" else region.cell(case.target).sidecar_url
    response = client.request(case.method, target + case.path, headers=headers, json=case.body)
    agent_logs = [
        region.supervisor.get(cell.process_name("agent")).log_path for cell in region.cells
    ]

    def logged():
        return next(
            (
                entry
                for log in agent_logs
                if (entry := decision_for_header(read_decisions(log), CASE_HEADER, marker))
            ),
            None,
        )

    wait_until(lambda: logged() is not None, f"decision log entry of {marker}", Deadline(10))
    entry = logged()
    decided_input = input_with_erased_headers(entry, headers)
    expected = stock_opa.query_rule(decided_input, "envoy/authz", "result")["result"]

    assert entry["result"] == expected
    assert entry["custom"] == {"evaluator": "wasm"}
    assert entry["bundles"] == {region.bundle_name: {"revision": region.revision}}
    if expected["allowed"]:
        assert response.headers.get("x-cell") is not None
    else:
        assert response.status_code == expected["http_status"]
