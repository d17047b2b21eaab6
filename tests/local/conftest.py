"""Fixtures that bring the local region up once per test session, and a stock OPA."""

import shutil
import sys
from pathlib import Path

import pytest
from opa_client.opa import OpaClient

from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.region import LocalRegion
from localregion.supervisor import Supervisor
from wasm.checks import policy_files
from wasm.layout import POLICY_DIR
from wasm.signing import read_bundle_file

ROOT = Path(__file__).resolve().parents[2]
OPA = ROOT / ".tools" / "bin" / "opa"


@pytest.fixture(scope="session")
def region(tmp_path_factory):
    """A region of 3 cells (eu-1, us-1, us-2) on free ports, agents on unix sockets."""
    run_dir = tmp_path_factory.mktemp("region")
    with LocalRegion(
        cells=3,
        run_dir=run_dir,
        base_port=0,
        agent_transport="unix",
        progress=lambda line: print(f"local region: {line}", file=sys.stderr),
    ) as running:
        yield running


@pytest.fixture(scope="session")
def stock_opa(region, tmp_path_factory):
    """Stock `opa run --server` with the policy's Rego sources and the bundle's data.

    It interprets the Rego, where the agents run the bundle's WebAssembly module, so the
    two can be compared decision by decision. The Rego comes from policies/authz, because
    `opa build -t wasm` drops the entrypoint rule from the Rego files it packs.
    """
    directory = tmp_path_factory.mktemp("stock-opa")
    policy_dir = directory / "policy"
    copy_rego_and_data(region.governance.bundle_path(region.revision), policy_dir)
    port = plan_ports(2, 0).router
    with Supervisor(directory / "logs") as supervisor:
        supervisor.start(
            "opa",
            [str(OPA), "run", "--server", "--skip-version-check", "--disable-telemetry",
             "--addr", f"127.0.0.1:{port}", str(policy_dir)],
        )  # fmt: skip
        wait_until(
            http_status_is(f"http://127.0.0.1:{port}/health"),
            "stock OPA to be healthy",
            Deadline(60),
            supervisor=supervisor,
            process="opa",
        )
        supervisor.check_listening("opa", port)
        with OpaClient(host="127.0.0.1", port=port, timeout=5.0) as client:
            yield client


def copy_rego_and_data(bundle: Path, target: Path) -> None:
    """Write the policy's Rego sources (tests excluded) and the bundle's data.json."""
    target.mkdir(parents=True)
    for source in policy_files(POLICY_DIR).sources:
        shutil.copy(source, target / source.name)
    (target / "data.json").write_bytes(read_bundle_file(bundle, "data.json"))
