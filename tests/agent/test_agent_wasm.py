"""The agent decides with the bundle's WebAssembly module and never interprets Rego."""

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.agent.harness import (
    DIVERGENT_BUNDLE,
    DIVERGENT_REVISION,
    MARKER_HEADER,
    OPA,
    bundle_members,
    publish,
    start_pod,
    wait_for_bundle,
)

pytestmark = pytest.mark.local_region


def interpret_rego(bundle: Path, input_document: dict, directory: Path) -> dict:
    """Evaluate data.envoy.authz.result with stock `opa eval` over the bundle's Rego and data."""
    for name, content in bundle_members(bundle).items():
        if name.endswith(".rego") or name == "data.json":
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    (directory / "input.json").write_text(json.dumps(input_document))
    completed = subprocess.run(
        [str(OPA), "eval", "--format", "json", "--data", str(directory / "policies"),
         "--data", str(directory / "data.json"), "--input", str(directory / "input.json"),
         "data.envoy.authz.result"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)["result"][0]["expressions"][0]["value"]


@pytest.fixture(scope="module")
def divergent_pod(
    supervisor, tmp_path_factory, governance, repository, divergent_bundle, echo_port
):
    publish(repository, divergent_bundle, DIVERGENT_BUNDLE, governance)
    pod = start_pod(
        supervisor,
        tmp_path_factory.mktemp("divergent-pod"),
        name="divergent",
        bundle_name=DIVERGENT_BUNDLE,
        governance=governance,
        repository=repository,
        echo_port=echo_port,
    )
    wait_for_bundle(pod.agent)
    return pod


@pytest.mark.parametrize(
    ("caller", "expected_status", "expected_reason"),
    [("orders-web", 200, "allowed"), (None, 401, "token-missing")],
    ids=["allowed", "token-missing"],
)
def test_decision_comes_from_wasm_not_rego(
    divergent_pod, divergent_bundle, governance, tmp_path, caller, expected_status, expected_reason
):
    marker = f"wasm-{expected_reason}"
    headers = {MARKER_HEADER: marker, "x-user-id": "user-7"}
    if caller is not None:
        headers["authorization"] = f"Bearer {governance.token(caller)}"

    response = httpx.get(
        divergent_pod.sidecar_urls["eu-1"] + "/v1/orders",
        headers=headers,
        timeout=10.0,
        trust_env=False,
    )
    entry = divergent_pod.agent.wait_for_decision(marker)
    rego_result = interpret_rego(divergent_bundle, entry["input"], tmp_path)

    assert response.status_code == expected_status
    assert response.headers.get("x-authz-reason") == expected_reason
    assert entry["result"]["response_headers_to_add"] == {"x-authz-reason": expected_reason}
    assert entry["custom"] == {"evaluator": "wasm"}
    assert entry["bundles"] == {DIVERGENT_BUNDLE: {"revision": DIVERGENT_REVISION}}
    # The Rego shipped in the same bundle would have denied with 418.
    assert rego_result["http_status"] == 418
    assert rego_result["headers"] == {"x-authz-reason": "rego-interpreted"}
