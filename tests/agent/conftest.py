"""Fixtures of the policy agent tests: keys, bundles, a bundle repository, agents, sidecars.

Every process runs under a localregion Supervisor, which stops it by process group when
its fixture ends, pass or fail.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from opa_client.opa import OpaClient

from bench.ports import free_ports
from localregion.governance import SIGNING_KEY, Governance
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.repository import BundleRepository, child_environment
from localregion.supervisor import Supervisor
from tests.agent.harness import (
    BUNDLE,
    DIVERGENT_REVISION,
    OPA,
    STARTUP_SECONDS,
    Pod,
    bundle_members,
    echo_service,
    publish,
    rego_and_data_directory,
    start_pod,
    wait_for_bundle,
    write_bundle,
)
from wasm.keys import key_pair_paths
from wasm.layout import POLICY_DIR
from wasm.signing import SIGNING_ALGORITHM

BUCKET = "agent-bundles"
REVISION = "agent-r1"
DIVERGENT_REGO = """package envoy.authz

result := {
	"allowed": false,
	"http_status": 418,
	"headers": {"x-authz-reason": "rego-interpreted"},
	"body": "decided by interpreting Rego",
}
"""


@pytest.fixture(scope="session")
def supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    with Supervisor(tmp_path_factory.mktemp("agent-logs")) as running:
        yield running


@pytest.fixture(scope="session")
def governance(tmp_path_factory: pytest.TempPathFactory) -> Governance:
    """Freshly generated bundle signing and token issuer keys."""
    directory = tmp_path_factory.mktemp("governance")
    keys = Governance(directory / "keys", directory / "bundles", BUNDLE)
    keys.generate_keys()
    return keys


@pytest.fixture(scope="session")
def policy_bundle(governance: Governance) -> Path:
    """The project's policy and sample data, built to WebAssembly and signed."""
    return governance.build(governance.initial_data(), REVISION)


@pytest.fixture(scope="session")
def divergent_bundle(
    policy_bundle: Path, governance: Governance, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """policy_bundle's policy.wasm and data, with Rego that returns 418 for every request.

    The bundle is signed again, so an agent activates it. An agent that interpreted the
    Rego would deny every request with 418; one that runs the module decides as the
    project's policy does.
    """
    directory = tmp_path_factory.mktemp("divergent")
    stage = directory / "stage"
    members = {
        name: content
        for name, content in bundle_members(policy_bundle).items()
        if not name.endswith(".rego") and name != ".signatures.json"
    }
    members["policies/authz/authz.rego"] = DIVERGENT_REGO.encode()
    manifest = json.loads(members[".manifest"])
    manifest["revision"] = DIVERGENT_REVISION
    members[".manifest"] = json.dumps(manifest).encode()
    for name, content in members.items():
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        (stage / name).write_bytes(content)

    claims = directory / "claims.json"
    claims.write_text(json.dumps({"keyid": governance.signing_key_id}))
    signing_key = key_pair_paths(governance.key_dir, SIGNING_KEY).private_key
    completed = subprocess.run(
        [str(OPA), "sign", ".", "--bundle", "--signing-key", str(signing_key),
         "--signing-alg", SIGNING_ALGORITHM, "--claims-file", str(claims),
         "--output-file-path", str(directory)],
        cwd=stage, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    members[".signatures.json"] = (directory / ".signatures.json").read_bytes()
    return write_bundle(members, directory / "bundle.tar.gz")


@pytest.fixture(scope="session")
def repository(supervisor: Supervisor) -> BundleRepository:
    """moto's S3 server on loopback with one versioned bucket."""
    (port,) = free_ports(1)
    bundles = BundleRepository(supervisor, port, BUCKET)
    bundles.start(Deadline(STARTUP_SECONDS))
    return bundles


@pytest.fixture(scope="session")
def echo_port() -> Iterator[int]:
    """The service behind the sidecars: it echoes the headers it receives."""
    with echo_service() as port:
        yield port


@pytest.fixture(scope="session")
def pod(
    supervisor: Supervisor,
    tmp_path_factory: pytest.TempPathFactory,
    governance: Governance,
    repository: BundleRepository,
    policy_bundle: Path,
    echo_port: int,
) -> Pod:
    """An agent with the project's policy bundle active, behind sidecars eu-1 and us-1."""
    publish(repository, policy_bundle, BUNDLE, governance)
    running = start_pod(
        supervisor,
        tmp_path_factory.mktemp("pod"),
        name="pod",
        bundle_name=BUNDLE,
        governance=governance,
        repository=repository,
        echo_port=echo_port,
    )
    wait_for_bundle(running.agent)
    return running


@pytest.fixture(scope="session")
def stock_opa(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory, policy_bundle: Path
) -> Iterator[OpaClient]:
    """Stock `opa run --server` with the Rego sources and the data of policy_bundle."""
    directory = rego_and_data_directory(
        policy_bundle, POLICY_DIR, tmp_path_factory.mktemp("stock-opa") / "bundle"
    )
    (port,) = free_ports(1)
    supervisor.start(
        "stock-opa",
        [str(OPA), "run", "--server", "--skip-version-check", "--disable-telemetry",
         "--addr", f"127.0.0.1:{port}", "--bundle", str(directory)],
        env=child_environment(),
    )  # fmt: skip
    wait_until(
        http_status_is(f"http://127.0.0.1:{port}/health?bundles"),
        "stock OPA to load the policy",
        Deadline(STARTUP_SECONDS),
        supervisor=supervisor,
        process="stock-opa",
    )
    with OpaClient(host="127.0.0.1", port=port, timeout=5.0) as client:
        yield client
