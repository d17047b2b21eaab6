"""Fixtures that bring the local region up once per test session, and a stock OPA."""

import json
import sys
import tarfile
from pathlib import Path

import pytest
from opa_client.opa import OpaClient

from localregion.ports import plan_ports
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.region import LocalRegion
from localregion.supervisor import Supervisor

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
    """Stock `opa run --server` with the Rego sources and data of the region's bundle.

    It interprets the Rego, where the agents run the bundle's WebAssembly module, so the
    two can be compared decision by decision.
    """
    directory = tmp_path_factory.mktemp("stock-opa")
    policy_dir = directory / "bundle"
    extract_rego_and_data(region.governance.bundle_path(region.revision), policy_dir)
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
        with OpaClient(host="127.0.0.1", port=port, timeout=5.0) as client:
            yield client


def extract_rego_and_data(bundle: Path, target: Path) -> None:
    """Write the bundle's .rego files and its data.json, leaving out policy.wasm."""
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
        for member in archive.getmembers():
            name = member.name.lstrip("/")
            if not member.isfile() or not (name.endswith(".rego") or name.endswith("data.json")):
                continue
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.extractfile(member).read())
    if not any(target.rglob("data.json")):
        raise AssertionError(f"{bundle} has no data.json, only {json.dumps(names)}")
