"""The preview command on a shipped stack: summary, inventory, diagram and policy report.

The GCP stack is the smallest, so the command runs on it in both modes, with the CrossGuard
pack, once for the module.
"""

import json
import multiprocessing

import pytest

from offline.preview import EXIT_OK, EXIT_POLICY_VIOLATION, main
from offline.preview import _record as record

STACK = "gcp-europe-west1"
CELLS = ["brussels-1", "brussels-2", "brussels-3"]


def record_in_worker_only(stack, config, preview):
    """Stand in for offline.preview._record, and fail if the command runs it in-process.

    Running the program in the command's own process swaps sys.modules["__main__"] while the
    worker pool pickles _record, which made `python -m offline.preview` fail at random.
    """
    if multiprocessing.parent_process() is None:
        raise AssertionError("the preview ran the program in its own process")
    return record(stack, config, preview)


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    out = tmp_path_factory.mktemp("preview")
    capture = pytest.MonkeyPatch()
    lines: list[str] = []
    capture.setattr(
        "builtins.print", lambda *args, **kwargs: lines.append(" ".join(map(str, args)))
    )
    capture.setattr("offline.preview._record", record_in_worker_only)
    try:
        status = main([STACK, "--out", str(out)])
    finally:
        capture.undo()
    return status, "\n".join(lines), out


def test_prints_counts_per_plane_cell_and_type(preview):
    _, output, _ = preview
    assert f"preview: {STACK}: preview mode: 255 resources in" in output
    assert f"preview: {STACK}: update mode: 255 resources in" in output
    rows = {tuple(line.split()) for line in output.splitlines() if line.startswith("  ")}
    for cell in CELLS:
        assert (cell, "60") in rows
    assert ("(region)", "75") in rows
    assert ("data", "189") in rows
    assert ("gcp:container/cluster:Cluster", "4") in rows
    assert ("total", "255") in rows


def test_writes_inventory_of_both_runs(preview):
    _, _, out = preview
    inventory = json.loads((out / "inventory.json").read_text())
    assert inventory["stack"] == STACK
    assert sorted(inventory["runs"]) == ["preview", "update"]
    for mode, run in inventory["runs"].items():
        assert run["preview"] is (mode == "preview")
        assert run["summary"]["total"] == 255
        assert len(run["resources"]) == 255
        assert run["summary"]["byCell"] == {**dict.fromkeys(CELLS, 60), "(region)": 75}
        assert run["outputs"]["bundleSigningPrivateKey"] == "[secret]"
    update = {r["name"]: r for r in inventory["runs"]["update"]["resources"]}
    assert update["brussels-1-db-password"]["outputs"]["result"] == "[secret]"
    assert update["brussels-1-gke"]["plane"] == "data"
    assert update["brussels-1-gke"]["cell"] == "brussels-1"
    assert update["control-gke"]["cell"] == "(region)"


def test_writes_a_mermaid_diagram(preview):
    _, _, out = preview
    diagram = (out / "region.mmd").read_text()
    assert diagram.startswith("flowchart LR\n")
    for cell in CELLS:
        node = "cell_" + cell.replace("-", "_")
        assert f'subgraph {node}_group["cell {cell}"]' in diagram
        assert f"control_deployments -- by user id --> {node}_ingress" in diagram
        assert f"governance_bucket -. bundles, polled .-> {node}_deployments" in diagram
    assert 'governance_bucket[("bucket<br/>governance-bundles")]' in diagram


def test_exit_status_follows_the_policy_report(preview):
    status, output, out = preview
    report = json.loads((out / "policies.json").read_text())
    assert sorted(report) == ["preview", "update"]
    mandatory = sum(run["mandatory"] for run in report.values())
    assert status == (EXIT_POLICY_VIOLATION if mandatory else EXIT_OK)
    assert f"preview: {STACK}: CrossGuard policies, update mode:" in output
