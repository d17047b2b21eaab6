"""The sidecar configuration the cell deploys passes `envoy --mode validate`.

The bootstraps come out of the ConfigMaps that CellWorkloads registers, so the test checks
what a cluster would receive, mTLS additions included.
"""

import subprocess
from pathlib import Path

import pytest
import yaml
from cell_harness import SERVICE_NAMES, run_workloads

ENVOY = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy"


@pytest.fixture(scope="module")
def bootstraps() -> dict[str, str]:
    recording = run_workloads(preview=True)
    return {
        record.inputs["metadata"]["name"].removesuffix("-envoy"): record.inputs["data"][
            "envoy.yaml"
        ]
        for record in recording.of_type("kubernetes:core/v1:ConfigMap")
        if record.inputs["metadata"]["name"].endswith("-envoy")
    }


def test_every_service_has_a_bootstrap(bootstraps):
    assert sorted(bootstraps) == sorted(SERVICE_NAMES)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_bootstrap_passes_envoy_validation(bootstraps, service, tmp_path):
    path = tmp_path / f"{service}.yaml"
    path.write_text(bootstraps[service])
    result = subprocess.run(
        [str(ENVOY), "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"configuration '{path}' OK" in result.stdout + result.stderr


def test_listeners_per_service(bootstraps):
    listeners = {
        service: [item["name"] for item in yaml.safe_load(text)["static_resources"]["listeners"]]
        for service, text in bootstraps.items()
    }
    assert listeners == {
        "orders": ["ingress", "edge", "egress_ledger"],
        "ledger": ["ingress"],
        "audit": ["ingress"],
    }
