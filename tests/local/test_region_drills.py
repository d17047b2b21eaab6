"""The region keeps its guarantees when the governance plane or an agent fails.

Each test puts back what it changed, so the session's region stays as it started.
"""

import httpx
import pytest

pytestmark = pytest.mark.local_region


def get_orders(region, cell: str, caller: str = "orders-web") -> httpx.Response:
    return httpx.get(
        f"{region.cell(cell).sidecar_url}/v1/orders",
        headers={"authorization": f"Bearer {region.token(caller)}", "x-user-id": "user-7"},
        timeout=5.0,
        trust_env=False,
    )


def test_revocation_reaches_every_cell(region):
    original = region.data["revoked"]
    revision = region.publish({"revoked": [*original, "orders-web"]})
    try:
        responses = {cell.name: get_orders(region, cell.name) for cell in region.cells}
        revisions = {cell.name: region.active_revision(cell.name) for cell in region.cells}
    finally:
        region.publish({"revoked": original})

    assert revisions == dict.fromkeys(revisions, revision)
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 403)
    assert {r.headers["x-authz-reason"] for r in responses.values()} == {"revoked"}


def test_repository_outage_keeps_decisions(region):
    revision = region.revision
    region.stop_repository()
    try:
        response = get_orders(region, "us-1")
        revoked = get_orders(region, "us-1", caller="legacy-batch")
        active = region.active_revision("us-1")
    finally:
        region.start_repository()

    assert response.status_code == 200
    assert revoked.status_code == 403
    assert active == revision


def test_stopped_agent_fails_closed(region):
    region.stop_agent("us-2")
    try:
        response = get_orders(region, "us-2")
    finally:
        region.start_agent("us-2")

    assert response.status_code == 403
    assert "x-cell" not in response.headers
    assert "x-authz-reason" not in response.headers


def test_agent_restarts_from_persisted_bundle(region):
    revision = region.revision
    region.stop_repository()
    try:
        region.stop_agent("eu-1")
        region.start_agent("eu-1")
        active = region.active_revision("eu-1")
        response = get_orders(region, "eu-1")
    finally:
        region.start_repository()

    assert active == revision
    assert response.status_code == 200
    assert response.headers["x-cell"] == "eu-1"


def test_stopped_service_returns_503_from_sidecar(region):
    region.stop_service("us-1")
    try:
        response = get_orders(region, "us-1")
    finally:
        region.start_service("us-1")

    assert response.status_code == 503
    assert "x-cell" not in response.headers
