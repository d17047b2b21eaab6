"""Bad bring-up requests fail with one line and start nothing."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localregion.errors import LocalRegionError, PortInUseError
from localregion.ports import plan_ports
from localregion.readiness import Deadline
from localregion.region import RUN_DIR_MARKER, STATE_FILE, LocalRegion
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
        (
            {"ready_timeout_seconds": 0},
            "invalid bring-up timeout 0; expected a number of seconds above 0",
        ),
        (
            {"ready_timeout_seconds": float("nan")},
            "invalid bring-up timeout nan; expected a number of seconds above 0",
        ),
        (
            {"polling_min_delay_seconds": 0},
            "invalid minimum polling delay 0; expected whole seconds from 1 to 3600",
        ),
        (
            {"polling_min_delay_seconds": 5, "polling_max_delay_seconds": 2},
            "invalid maximum polling delay 2; expected at least the minimum, 5",
        ),
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


def test_processes_left_by_killed_region_are_named(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / RUN_DIR_MARKER).touch()
    leftover_command = [sys.executable, "-c", "import time; time.sleep(60)", "router"]
    other_command = [sys.executable, "-c", "import time; time.sleep(60)", "other"]
    with subprocess.Popen([sys.executable, "-c", "pass"]) as owner:
        owner.wait()
    with (
        subprocess.Popen(leftover_command) as leftover,
        subprocess.Popen(other_command) as unrelated,
    ):
        try:
            # The state of a region whose owner was killed: its router still runs, and the
            # pid recorded for its repository now runs another command.
            state = {
                "owner_pid": owner.pid,
                "processes": {"router": leftover.pid, "repository": unrelated.pid},
                "commands": {
                    "router": leftover_command,
                    "repository": [sys.executable, "-m", "moto.server"],
                },
            }
            (run_dir / STATE_FILE).write_text(json.dumps(state))

            with pytest.raises(LocalRegionError) as error:
                LocalRegion(run_dir=run_dir).start()
        finally:
            leftover.kill()
            unrelated.kill()

    assert str(error.value) == (
        f"1 process of an earlier local region in {run_dir} still running (router pid "
        f"{leftover.pid}); stop them with `kill -TERM -- -{leftover.pid}`, then start again"
    )
    assert sorted(path.name for path in run_dir.iterdir()) == [RUN_DIR_MARKER, STATE_FILE]


def test_run_dir_with_foreign_files_is_rejected(tmp_path):
    run_dir = tmp_path / "home"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("keep me")
    (run_dir / "logs").mkdir()

    with pytest.raises(LocalRegionError) as error:
        LocalRegion(run_dir=run_dir).start()

    assert str(error.value) == (
        f"invalid run directory {run_dir}: it contains files that no local region wrote "
        "(notes.txt); pass a new or empty directory"
    )
    assert sorted(path.name for path in run_dir.iterdir()) == ["logs", "notes.txt"]


def test_run_dir_with_user_file_in_keys_is_rejected(tmp_path):
    run_dir = tmp_path / "home"
    (run_dir / "keys").mkdir(parents=True)
    (run_dir / "keys" / "id_important").write_text("a user's key")

    with pytest.raises(LocalRegionError) as error:
        LocalRegion(run_dir=run_dir).start()

    assert str(error.value) == (
        f"invalid run directory {run_dir}: it contains files that no local region wrote "
        "(keys/id_important); pass a new or empty directory"
    )
    assert [path.name for path in run_dir.iterdir()] == ["keys"]
    assert (run_dir / "keys" / "id_important").read_text() == "a user's key"


def test_timeout_before_build_names_real_value(tmp_path):
    region = LocalRegion(cells=2, run_dir=tmp_path / "run", ready_timeout_seconds=0.01)
    generate_keys = region.governance.generate_keys
    builds = []

    def slow_generate_keys():
        generate_keys()
        # Stand in for a slow first step: hold until the 0.01 s deadline has passed.
        finished = time.monotonic() + 0.05
        while time.monotonic() < finished:
            pass

    region.governance.generate_keys = slow_generate_keys
    region.governance.build = lambda data, revision: builds.append(revision)

    with pytest.raises(LocalRegionError) as error:
        region.start()

    assert str(error.value) == (
        "timed out after 0.01 s before the bundle build; pass a larger --timeout"
    )
    assert builds == []
    assert region.supervisor.pids() == {}


def test_deadline_check_after_expiry_names_when():
    deadline = Deadline(0.25)
    deadline._end = time.monotonic() - 1

    with pytest.raises(LocalRegionError) as error:
        deadline.check("during the bundle build")

    assert str(error.value) == (
        "timed out after 0.25 s during the bundle build; pass a larger --timeout"
    )


def test_run_dir_that_is_a_file_is_rejected(tmp_path):
    run_dir = tmp_path / "file"
    run_dir.write_text("")

    with pytest.raises(LocalRegionError) as error:
        LocalRegion(run_dir=run_dir).start()

    assert str(error.value) == (
        f"invalid run directory {run_dir}: it is a file; pass a directory path"
    )


def test_missing_tool_names_path_and_fix(tmp_path):
    with pytest.raises(LocalRegionError) as error:
        find_tools(tmp_path)

    assert str(error.value) == (
        f"envoy not found at {tmp_path / 'envoy'}; run scripts/setup to build it"
    )


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["--cells", "1"], 1, "error: invalid cell count 1; expected 2 to 20"),
        (
            ["--eu-cells", "5"],
            1,
            "error: invalid EU cell count 5; expected 1 to 2 so that the region has cells of "
            "both jurisdictions",
        ),
        (
            ["--base-port", "80"],
            1,
            "error: invalid --base-port 80: 3 cells need ports up to 120; expected 0 (free "
            "ports) or a port from 1024 to 65495",
        ),
        (
            ["--timeout", "-5"],
            1,
            "error: invalid bring-up timeout -5.0; expected a number of seconds above 0",
        ),
        (
            ["--cells", "three"],
            2,
            "error: argument --cells: invalid int value: 'three'; see scripts/local-region --help",
        ),
        (
            ["--agent-transport", "udp"],
            2,
            "error: argument --agent-transport: invalid choice: 'udp' (choose from 'tcp', "
            "'unix'); "
            "see scripts/local-region --help",
        ),
        (
            ["--nodes", "2"],
            2,
            "error: unrecognized arguments: --nodes 2; see scripts/local-region --help",
        ),
    ],
)
def test_command_line_error_is_one_line(tmp_path, arguments, status, message):
    result = run_command_line(["--run-dir", str(tmp_path / "run"), *arguments])

    assert result.returncode == status
    assert result.stderr == f"scripts/local-region: {message}\n"
    assert result.stdout == ""
    assert not (tmp_path / "run").exists()


def test_command_line_rejects_unwritable_run_dir(tmp_path):
    parent = tmp_path / "file"
    parent.write_text("")

    result = run_command_line(["--run-dir", str(parent / "run"), "--base-port", "0"])

    assert result.returncode == 1
    assert result.stderr == (
        f"scripts/local-region: error: cannot create run directory {parent / 'run'}: "
        "Not a directory; pass a directory you can write to\n"
    )


def test_command_line_rejects_foreign_run_dir(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")

    result = run_command_line(["--run-dir", str(tmp_path), "--base-port", "0"])

    assert result.returncode == 1
    assert result.stderr == (
        f"scripts/local-region: error: invalid run directory {tmp_path}: it contains files "
        "that no local region wrote (notes.txt); pass a new or empty directory\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_command_line_rejects_taken_port(tmp_path):
    with socket.socket() as holder:
        base = find_free_base_port()
        holder.bind(("127.0.0.1", base))
        holder.listen()

        result = run_command_line(
            ["--run-dir", str(tmp_path / "run"), "--cells", "2", "--base-port", str(base)]
        )

    assert result.returncode == 1
    assert result.stderr == (
        f"scripts/local-region: error: port {base} for router is already in use; stop what "
        "uses it, or choose another --base-port (0 picks free ports)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "run").exists()


def run_command_line(arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "localregion", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )


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
