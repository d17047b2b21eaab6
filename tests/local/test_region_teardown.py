"""A failing test leaves no process or port of the session's region behind.

An inner pytest session uses the same `region` fixture as these tests, records the region's
processes and ports from inside a test, and then fails. Once it has exited, nothing of the
region may remain.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localregion.ports import is_port_free

pytestmark = pytest.mark.local_region

ROOT = Path(__file__).resolve().parents[2]

FAILING_TEST = textwrap.dedent(
    """
    import json
    import os
    from pathlib import Path

    from tests.local.conftest import region  # noqa: F401


    def test_fails_while_region_runs(region):
        ports = [region.ports.router, region.ports.router_admin, region.ports.repository]
        for cell in region.cells:
            ports += [getattr(cell.ports, name) for name in cell.ports.__dataclass_fields__]
        record = {"pids": region.supervisor.pids(), "ports": ports}
        Path(os.environ["REGION_RECORD"]).write_text(json.dumps(record))
        assert region.router_health() == {}, "this test fails on purpose"
    """
)


def test_failing_test_leaves_nothing_running(tmp_path):
    (tmp_path / "test_inner.py").write_text(FAILING_TEST)
    record_path = tmp_path / "record.json"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "inner"),
            str(tmp_path / "test_inner.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "REGION_RECORD": str(record_path)},
        timeout=600,
        check=False,
    )
    record = json.loads(record_path.read_text())
    survivors = [pid for pid in record["pids"].values() if process_alive(pid)]
    # If the teardown under test failed, this test must not leak the survivors in turn.
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    assert result.returncode == 1, result.stdout[-3000:]
    assert "this test fails on purpose" in result.stdout
    assert len(record["pids"]) == 3 * 3 + 2
    assert survivors == []
    assert [port for port in record["ports"] if not is_port_free(port)] == []


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
