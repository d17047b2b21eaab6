"""Until a bundle with a WebAssembly module is active, the agent is not ready and denies."""

import subprocess

import httpx
import pytest

from localregion.supervisor import Supervisor
from tests.agent.harness import (
    MARKER_HEADER,
    OPA,
    publish,
    rego_and_data_directory,
    start_pod,
    wait_for_bundle,
)
from wasm.keys import key_pair_paths
from wasm.layout import POLICY_DIR
from wasm.signing import SIGNING_ALGORITHM

pytestmark = pytest.mark.local_region

UNAVAILABLE = "no active bundle has a WebAssembly module for entrypoint data.envoy.authz.result"


def get(url: str, marker: str) -> httpx.Response:
    return httpx.get(url, headers={MARKER_HEADER: marker}, timeout=10.0, trust_env=False)


def test_agent_denies_until_first_bundle_is_active(
    tmp_path, governance, repository, policy_bundle, echo_port
):
    with Supervisor(tmp_path / "logs") as supervisor:
        pod = start_pod(
            supervisor,
            tmp_path,
            name="late",
            bundle_name="late",
            governance=governance,
            repository=repository,
            echo_port=echo_port,
        )
        health_before = httpx.get(f"{pod.agent.diagnostic_url}/health?bundles", trust_env=False)
        before = get(pod.sidecar_urls["eu-1"] + "/healthz", "late-before")
        entry_before = pod.agent.wait_for_decision("late-before")

        publish(repository, policy_bundle, "late", governance)
        wait_for_bundle(pod.agent)
        after = get(pod.sidecar_urls["eu-1"] + "/healthz", "late-after")
        entry_after = pod.agent.wait_for_decision("late-after")

    assert health_before.status_code == 500
    assert before.status_code == 403
    assert before.headers.get("x-authz-reason") == "policy-unavailable"
    assert before.json() == {"error": "forbidden", "reason": "policy-unavailable"}
    assert entry_before["error"] == UNAVAILABLE
    assert "result" not in entry_before
    assert after.status_code == 200
    assert after.headers.get("x-authz-reason") == "health"
    assert entry_after["result"]["allowed"] is True


def test_agent_denies_with_rego_only_bundle(
    tmp_path, governance, repository, policy_bundle, echo_port
):
    # A bundle of the same policy as Rego, without policy.wasm: stock OPA would answer
    # from it, the agent must not.
    source = rego_and_data_directory(policy_bundle, POLICY_DIR, tmp_path / "rego-bundle")
    signing_key = key_pair_paths(governance.key_dir, "bundle-signing").private_key
    rego_bundle = tmp_path / "rego-only.tar.gz"
    completed = subprocess.run(
        [str(OPA), "build", "--bundle", ".", "--signing-key", str(signing_key),
         "--signing-alg", SIGNING_ALGORITHM, "--verification-key-id", governance.signing_key_id,
         "--output", str(rego_bundle)],
        cwd=source, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    publish(repository, rego_bundle, "rego-only", governance)

    with Supervisor(tmp_path / "logs") as supervisor:
        pod = start_pod(
            supervisor,
            tmp_path / "pod",
            name="rego-only",
            bundle_name="rego-only",
            governance=governance,
            repository=repository,
            echo_port=echo_port,
        )
        wait_for_bundle(pod.agent)
        response = get(pod.sidecar_urls["eu-1"] + "/healthz", "rego-only")
        entry = pod.agent.wait_for_decision("rego-only")
        rego_answer = httpx.post(
            f"{pod.agent.http_url}/v1/data/envoy/authz/result",
            json={"input": entry["input"]},
            trust_env=False,
        ).json()

    assert response.status_code == 403
    assert response.headers.get("x-authz-reason") == "policy-unavailable"
    assert entry["error"] == UNAVAILABLE
    # The agent's REST API interprets the same bundle's Rego and would have allowed.
    assert rego_answer["result"]["allowed"] is True
