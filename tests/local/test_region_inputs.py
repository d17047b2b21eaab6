"""Bad bring-up requests fail with one line and start nothing."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localregion.errors import LocalRegionError, PortInUseError
from localregion.ports import plan_ports
from localregion.region import STATE_FILE, LocalRegion
from localregion.tools import Tools, find_tools

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cells": 1}, "invalid cell count 1; expected 2 to 20"),
        ({"cells": 21}, "invalid cell count 21; expected 2 to 20"),
        ({"cells": 3, "eu_cells": 0}, "invalid EU cell count 0; expected 1 to 2 so that"),
        ({"cells": 3, "eu_cells": 3}, "invalid EU cell count 3; expected 1 to 2 so that"),
        ({"agent_transport": "udp"}, "invalid agent transport 'udp'; expected one of tcp, unix"),
        ({"base_port": -1}, "invalid base port -1; expected 0 (free ports) or a port number"),
    ],
)
def test_invalid_argument_is_rejected(tmp_path, arguments, message):
    with pytest.raises(LocalRegionError) as error:
        LocalRegion(run_dir=tmp_path / "run", **arguments)

    assert str(error.value).startswith(message)
    assert not (tmp_path / "run").exists()


def test_taken_port_names_component_and_starts_nothing(tmp_path):
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        base = find_free_base_port()
        holder.bind(("127.0.0.1", base + 12))
        holder.listen()
        # Tools that would fail to run: the port check must reject before any is used.
        missing = str(tmp_path / "missing")
        tools = Tools(envoy=missing, policy_agent=missing, opa=missing, python=missing)
        region = LocalRegion(cells=2, run_dir=tmp_path / "run", base_port=base, tools=tools)

        with pytest.raises(PortInUseError) as error:
            region.start()

    assert str(error.value) == (
        f"port {base + 12} for eu-1 sidecar admin is already in use; stop what uses it, "
        "or choose another --base-port (0 picks free ports)"
    )
    assert region.supervisor.pids() == {}
    assert not (tmp_path / "run").exists()


def test_run_dir_of_live_region_is_rejected(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as owner:
        try:
            (run_dir / STATE_FILE).write_text(f'{{"owner_pid": {owner.pid}}}')

            with pytest.raises(LocalRegionError) as error:
                LocalRegion(run_dir=run_dir).start()
        finally:
            owner.kill()

    assert str(error.value) == (
        f"a local region started by pid {owner.pid} is still running from {run_dir}; "
        "stop it first, or pass another run directory"
    )
    assert sorted(path.name for path in run_dir.iterdir()) == [STATE_FILE]


def test_missing_tool_names_path_and_fix(tmp_path):
    with pytest.raises(LocalRegionError) as error:
        find_tools(tmp_path)

    assert str(error.value) == (
        f"envoy not found at {tmp_path / 'envoy'}; run scripts/setup to build it"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cells", "1"], "scripts/local-region: error: invalid cell count 1; expected 2 to 20\n"),
        (
            ["--eu-cells", "5"],
            "scripts/local-region: error: invalid EU cell count 5; expected 1 to 2 so that the "
            "region has cells of both jurisdictions\n",
        ),
    ],
)
def test_command_line_error_is_one_line(tmp_path, arguments, message):
    result = subprocess.run(
        [sys.executable, "-m", "localregion", "--run-dir", str(tmp_path / "run"), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr == message
    assert result.stdout == ""


def find_free_base_port() -> int:
    """Return a base port whose 2-cell plan is free right now."""
    for base in range(20000, 60000, 97):
        plan = plan_ports(2, base)
        if all(_free(port) for port in plan.by_component(["eu-1", "us-1"]).values()):
            return base
    raise AssertionError("no free range of ports for a 2-cell region")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
