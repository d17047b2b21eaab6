"""The agent's WebAssembly decisions agree with stock OPA interpreting the same policy.

Each request goes through a real Envoy sidecar to the agent. The agent's decision log
entry contains the input document built from Envoy's CheckRequest, and the decision.
Stock OPA, queried with opa-python-client, decides the same input from the Rego sources.
Both decisions must be equal, and the sidecar's response must be the one the decision
describes.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest

from localregion.cases import RequestCase, standard_cases
from localregion.check import case_token
from localregion.decisions import input_with_erased_headers
from localregion.metrics import parse_histogram
from tests.agent.harness import MARKER_HEADER

pytestmark = pytest.mark.local_region

CELLS = ["eu-1", "us-1", "us-2"]
# The pod has sidecars for eu-1 and us-1, so a case for the router goes to eu-1.
SIDECAR_OF_TARGET = {"router": "eu-1", "eu-1": "eu-1", "us-1": "us-1"}
DECISION_METRIC = "envoy_ext_authz_wasm_decision_duration_seconds"


@dataclass(frozen=True)
class ExtraCase:
    """A request beyond the local region's check, with the decision the policy must take.

    `authorization` replaces the bearer header that `caller` would get, and "{token}" in
    it stands for a valid token of caller.
    """

    name: str
    method: str
    path: str
    cell: str
    caller: str | None
    expected_status: int
    expected_reason: str
    headers: dict[str, str] = field(default_factory=dict)
    authorization: str | None = None
    body: dict | None = None


EXTRA_CASES = [
    ExtraCase("query string ignored", "GET", "/v1/orders?limit=5&limit=6", "eu-1",
              "orders-web", 200, "allowed"),
    ExtraCase("sub-path of a prefix", "GET", "/v1/orders/42", "us-1", "orders-web", 200,
              "allowed"),
    ExtraCase("prefix matches whole segments", "GET", "/v1/ordersX", "us-1", "orders-web",
              403, "default-deny"),
    ExtraCase("path letter case", "GET", "/V1/orders", "us-1", "orders-web", 403,
              "default-deny"),
    ExtraCase("encoded slash", "GET", "/v1/orders%2F42", "us-1", "orders-web", 400,
              "path-not-canonical"),
    ExtraCase("encoded dot segment", "GET", "/v1/orders/%2e%2e/invoices", "us-1", "orders-web",
              400, "path-not-canonical"),
    ExtraCase("path parameter", "GET", "/v1/orders;x=1", "us-1", "orders-web", 400,
              "path-not-canonical"),
    ExtraCase("trailing slash", "GET", "/v1/orders/", "us-1", "orders-web", 400,
              "path-not-canonical"),
    ExtraCase("encoded unicode segment", "GET", "/v1/profiles/caf%C3%A9", "eu-1",
              "profile-app", 400, "path-not-canonical"),
    ExtraCase("lower-case bearer scheme", "GET", "/v1/invoices", "us-1", "billing", 200,
              "allowed", authorization="bearer {token}"),
    ExtraCase("basic scheme", "GET", "/v1/invoices", "us-1", "billing", 401, "token-invalid",
              authorization="Basic YmlsbGluZzpzZWNyZXQ="),
    ExtraCase("upper-case header name", "GET", "/v1/orders", "us-1", "orders-web", 403,
              "residency", headers={"X-Data-Residency": "eu"}),
    ExtraCase("unknown residency tag", "GET", "/v1/orders", "eu-1", "orders-web", 403,
              "residency", headers={"x-data-residency": "mars"}),
    ExtraCase("readiness path open", "GET", "/readyz", "us-1", None, 200, "health"),
    ExtraCase("health needs GET", "POST", "/healthz", "us-1", None, 401, "token-missing"),
    ExtraCase("HEAD not granted", "HEAD", "/v1/orders", "us-1", "orders-web", 403,
              "default-deny"),
    ExtraCase("write with JSON body not granted", "POST", "/v1/orders", "us-1", "billing", 403,
              "default-deny", body={"item": "pen", "quantity": 1}),
    ExtraCase("caller header from client replaced", "GET", "/v1/orders", "eu-1", "billing",
              200, "allowed", headers={"x-authz-caller": "orders-web"}),
]  # fmt: skip


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def send(
    base_url: str, method: str, path: str, headers: dict[str, str], body: dict | None
) -> Response:
    """Send one request with the path exactly as given: no client-side normalization."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers = {**headers, "content-type": "application/json"}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return Response(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=response.read(),
        )
    finally:
        connection.close()


def standard_request(governance, case: RequestCase) -> tuple[str, dict[str, str]]:
    headers = {"x-user-id": case.user, **case.headers}
    token = case_token(governance, case)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return SIDECAR_OF_TARGET[case.target], headers


def extra_request(governance, case: ExtraCase) -> tuple[str, dict[str, str]]:
    headers = {"x-user-id": "user-7", **case.headers}
    if case.authorization is not None:
        token = governance.token(case.caller) if case.caller else ""
        headers["authorization"] = case.authorization.format(token=token)
    elif case.caller is not None:
        headers["authorization"] = f"Bearer {governance.token(case.caller)}"
    return case.cell, headers


STANDARD = [case for case in standard_cases(CELLS) if case.target in SIDECAR_OF_TARGET]
ALL_CASES = [("standard", case) for case in STANDARD] + [("extra", case) for case in EXTRA_CASES]


@pytest.mark.parametrize(
    ("kind", "case"), ALL_CASES, ids=[f"{kind}: {case.name}" for kind, case in ALL_CASES]
)
def test_agent_agrees_with_stock_opa(pod, stock_opa, governance, kind, case):
    marker = f"differential-{kind}-{case.name}"
    if kind == "standard":
        cell, headers = standard_request(governance, case)
    else:
        cell, headers = extra_request(governance, case)
    headers[MARKER_HEADER] = marker

    response = send(pod.sidecar_urls[cell], case.method, case.path, headers, case.body)
    entry = pod.agent.wait_for_decision(marker)
    decided_input = input_with_erased_headers(entry, headers)
    expected = stock_opa.query_rule(decided_input, "envoy/authz", "result")["result"]

    assert entry["result"] == expected
    assert entry["custom"] == {"evaluator": "wasm"}
    assert response.headers.get("x-authz-reason") == case.expected_reason
    if expected["allowed"]:
        # The echo service behind the sidecar returns 200 for every request it receives.
        assert response.status == 200
        if case.method != "HEAD":
            received = json.loads(response.body)["headers"]
            assert received.get("x-authz-caller") == expected["headers"].get("x-authz-caller")
    else:
        assert response.status == expected["http_status"]
        assert response.status == case.expected_status
        if case.method != "HEAD":
            assert response.body.decode() == expected["body"]


def test_every_policy_reason_is_covered():
    reasons = {case.expected_reason for _, case in ALL_CASES}

    assert reasons == {
        "health",
        "allowed",
        "default-deny",
        "path-not-canonical",
        "token-missing",
        "token-invalid",
        "revoked",
        "residency",
    }


def test_input_document_from_envoy(pod, governance):
    marker = "input-shape"
    headers = {
        "authorization": f"Bearer {governance.token('orders-web')}",
        "X-Mixed-Case": "value",
        MARKER_HEADER: marker,
    }

    send(pod.sidecar_urls["us-1"], "GET", "/v1/orders/42?limit=5&limit=6&q=a%20b", headers, None)
    document = pod.agent.wait_for_decision(marker)["input"]
    http = document["attributes"]["request"]["http"]

    assert http["method"] == "GET"
    assert http["path"] == "/v1/orders/42?limit=5&limit=6&q=a%20b"
    assert http["headers"]["x-mixed-case"] == "value"
    assert all(name == name.lower() for name in http["headers"])
    assert document["parsed_path"] == ["v1", "orders", "42"]
    assert document["parsed_query"] == {"limit": ["5", "6"], "q": ["a b"]}
    assert document["attributes"]["contextExtensions"] == {
        "cell": "us-1",
        "jurisdiction": "us",
        "region": "local",
    }
    assert document["version"] == {"ext_authz": "v3", "encoding": "protojson"}
    assert document["parsed_body"] is None
    assert document["truncated_body"] is False


def test_decision_log_erases_credentials(pod, governance):
    marker = "credentials-masked"
    token = governance.token("orders-web")
    headers = {
        "authorization": f"Bearer {token}",
        "cookie": "session=secret-cookie",
        MARKER_HEADER: marker,
    }

    response = send(pod.sidecar_urls["us-1"], "GET", "/v1/orders", headers, None)
    entry = pod.agent.wait_for_decision(marker)
    logged_headers = entry["input"]["attributes"]["request"]["http"]["headers"]
    log_text = pod.agent.log_path.read_text(errors="replace")

    assert response.status == 200
    assert "authorization" not in logged_headers
    assert "cookie" not in logged_headers
    assert logged_headers[MARKER_HEADER] == marker
    assert sorted(entry["erased"]) == [
        "/input/attributes/request/http/headers/authorization",
        "/input/attributes/request/http/headers/cookie",
    ]
    assert token not in log_text
    assert "secret-cookie" not in log_text


def test_invalid_percent_encoding_is_bad_request(pod, governance):
    marker = "invalid-escape"
    headers = {"authorization": f"Bearer {governance.token('orders-web')}", MARKER_HEADER: marker}

    response = send(pod.sidecar_urls["us-1"], "GET", "/v1/orders/%zz", headers, None)

    assert response.status == 400
    assert response.headers.get("x-authz-reason") == "request-invalid"
    assert json.loads(response.body) == {"error": "bad_request", "reason": "request-invalid"}


def test_latency_histogram_counts_decisions(pod):
    before = parse_histogram(
        httpx.get(f"{pod.agent.diagnostic_url}/metrics", trust_env=False).text, DECISION_METRIC
    )
    for number in range(5):
        send(pod.sidecar_urls["eu-1"], "GET", "/healthz", {MARKER_HEADER: f"m{number}"}, None)
    after = parse_histogram(
        httpx.get(f"{pod.agent.diagnostic_url}/metrics", trust_env=False).text, DECISION_METRIC
    )

    assert after is not None
    assert after.count - (before.count if before else 0) == 5
    assert after.total > 0
