"""The local region: cells of real Envoy sidecars and policy agents behind an Envoy router.

    with LocalRegion(cells=3, run_dir=tmp) as region:
        token = region.token("orders-web")
        httpx.get(region.router_url + "/v1/orders", headers={...})

Every process binds 127.0.0.1 and is stopped by this object, by process group, when the
`with` block ends or `stop()` is called, also after a failed bring-up.
"""

import copy
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from localregion import configs, repository, router_admin
from localregion.errors import LocalRegionError
from localregion.governance import Governance
from localregion.metrics import Histogram, histogram_names, parse_histogram
from localregion.ports import PortPlan, check_ports_free, plan_ports
from localregion.readiness import Deadline, http_status_is, port_listening, wait_until
from localregion.repository import BundleRepository
from localregion.supervisor import Supervisor
from localregion.tools import Tools, find_tools
from localregion.topology import Cell, cell_layout, check_agent_transport

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN_DIR = ROOT / ".local-region"
POLICY_DIR = ROOT / "policies" / "authz"
STATE_FILE = "region.json"
# Subdirectories and files this module creates in the run directory, and removes again
# at the next bring-up. Nothing else in the run directory is touched.
RUN_DIR_ENTRIES = ("keys", "bundles", "cells", "router", "logs", STATE_FILE)
# Marks a directory as a run directory, so that cleaning it never deletes a user's files.
RUN_DIR_MARKER = ".local-region-run-dir"
ROUTER_PROCESS = "router"
# The policy agent's histogram of ext_authz decision time, in seconds.
DECISION_LATENCY_METRIC = "envoy_ext_authz_wasm_decision_duration_seconds"


def _files_under(directory: Path, *, limit: int) -> list[str]:
    """Return up to limit paths, relative to directory, of files or symlinks in its tree."""
    found: list[str] = []
    for parent, subdirectories, files in os.walk(directory):
        subdirectories.sort()
        links = [name for name in subdirectories if os.path.islink(os.path.join(parent, name))]
        for name in sorted([*files, *links]):
            found.append(Path(parent, name).relative_to(directory).as_posix())
            if len(found) == limit:
                return found
    return found


class LocalRegion:
    """A running local region; a context manager that brings it up and takes it down."""

    def __init__(
        self,
        cells: int = 3,
        *,
        eu_cells: int = 1,
        run_dir: Path | str = DEFAULT_RUN_DIR,
        base_port: int = 0,
        agent_transport: str = "tcp",
        region: str = "local",
        bundle_name: str = "authz",
        polling_min_delay_seconds: int = 1,
        polling_max_delay_seconds: int = 2,
        ready_timeout_seconds: float = 120.0,
        progress: Callable[[str], None] | None = None,
        tools: Tools | None = None,
    ) -> None:
        layout = cell_layout(cells, eu_cells)
        check_agent_transport(agent_transport)
        if isinstance(base_port, bool) or not isinstance(base_port, int) or base_port < 0:
            raise LocalRegionError(
                f"invalid base port {base_port!r}; expected 0 (free ports) or a port number"
            )
        _check_positive_seconds("bring-up timeout", ready_timeout_seconds)
        _check_polling(polling_min_delay_seconds, polling_max_delay_seconds)
        self.region = region
        self.bundle_name = bundle_name
        self.run_dir = Path(run_dir).resolve()
        self.base_port = base_port
        self.agent_transport = agent_transport
        self.polling_min_delay_seconds = polling_min_delay_seconds
        self.polling_max_delay_seconds = polling_max_delay_seconds
        self.ready_timeout_seconds = ready_timeout_seconds
        self._progress = progress or (lambda line: log.info("%s", line))
        self._layout = layout
        self.ports: PortPlan | None = None
        self.cells: list[Cell] = []
        # The state file lists each process as soon as it starts, so that after a SIGKILL
        # of this process the next bring-up can name the children left running.
        self.supervisor = Supervisor(self.run_dir / "logs", on_start=self._write_state)
        self.governance = Governance(self.run_dir / "keys", self.run_dir / "bundles", bundle_name)
        self.repository: BundleRepository | None = None
        self.tools: Tools | None = tools
        self.bring_up_seconds: float | None = None
        self.revision: str | None = None
        self._data: dict = {}
        self._revision_number = 0
        self._agent_args: dict[str, list[str]] = {}
        self._started = False

    # -- context manager -------------------------------------------------------------

    def __enter__(self) -> "LocalRegion":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------

    @property
    def router_url(self) -> str:
        return f"http://127.0.0.1:{self._plan.router}"

    @property
    def router_admin_url(self) -> str:
        return f"http://127.0.0.1:{self._plan.router_admin}"

    def cell(self, name: str) -> Cell:
        for cell in self.cells:
            if cell.name == name:
                return cell
        names = ", ".join(cell.name for cell in self.cells)
        raise LocalRegionError(f"no cell named {name!r}; the region has {names}")

    @property
    def _plan(self) -> PortPlan:
        if self.ports is None:
            raise LocalRegionError("the region has not been started")
        return self.ports

    # -- bring-up ----------------------------------------------------------------------

    def start(self) -> None:
        """Bring the region up; on any failure, stop what was started and raise."""
        if self._started:
            raise LocalRegionError("the region is already started")
        started_at = time.monotonic()
        deadline = Deadline(self.ready_timeout_seconds)
        # Every check that can reject the request runs before anything is written.
        self._check_run_dir_free()
        self._plan_cells()
        if self.tools is None:
            self.tools = find_tools()
        self._clean_run_dir()
        self._started = True
        try:
            self._bring_up(deadline, started_at)
        except BaseException:
            self.stop()
            raise
        self.bring_up_seconds = time.monotonic() - started_at

    def _bring_up(self, deadline: Deadline, started_at: float) -> None:
        steps = 8
        step = _StepPrinter(self._progress, steps, started_at)

        self._write_state()
        step(f"planned {len(self.cells)} cells and their ports; run directory {self.run_dir}")

        self.governance.generate_keys()
        self._data = self.governance.initial_data()
        step(f"generated the issuer key and the bundle signing key in {self.governance.key_dir}")

        # The build runs opa for about 15 s and cannot be interrupted, so the deadline is
        # checked on both sides of it.
        deadline.check("before the bundle build")
        bundle = self._build_next_revision()
        deadline.check("during the bundle build")
        step(f"built and signed bundle {self.bundle_name} revision {self.revision}: {bundle}")

        self.repository = BundleRepository(
            self.supervisor, self._plan.repository, bucket=f"{self.region}-bundles"
        )
        self.repository.start(deadline)
        self.governance.publish(self.repository, bundle)
        step(
            f"started the bundle repository (moto S3) at {self.repository.bucket_url} "
            f"and published revision {self.revision}"
        )

        for cell in self.cells:
            self._prepare_cell(cell)
        deadline.check("while writing and validating the cell configurations")
        step("wrote and validated every cell's sidecar and agent configuration")

        for cell in self.cells:
            self._start_service(cell)
            self._start_agent(cell)
        for cell in self.cells:
            self._wait_service(cell, deadline)
            self._wait_agent(cell, deadline)
        step(
            "started each cell's service and policy agent; every agent activated revision "
            f"{self.revision}"
        )

        for cell in self.cells:
            self._start_sidecar(cell)
        for cell in self.cells:
            self._wait_sidecar(cell, deadline)
        step("started each cell's Envoy sidecar; /healthz passes through every one")

        self._start_router(deadline)
        step(f"started the router at {self.router_url}; it serves every cell")

    def _plan_cells(self) -> None:
        self.ports = plan_ports(len(self._layout), self.base_port)
        self.cells = [
            Cell(
                name=name,
                jurisdiction=jurisdiction,
                ports=ports,
                directory=self.run_dir / "cells" / name,
                agent_transport=self.agent_transport,
            )
            for (name, jurisdiction), ports in zip(self._layout, self.ports.cells, strict=True)
        ]
        check_ports_free(self.ports.by_component([cell.name for cell in self.cells]))

    def _check_run_dir_free(self) -> None:
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise LocalRegionError(
                f"invalid run directory {self.run_dir}: it is a file; pass a directory path"
            )
        state_path = self.run_dir / STATE_FILE
        if state_path.exists():
            try:
                state = json.loads(state_path.read_text())
            except (OSError, ValueError):
                state = {}
            state = state if isinstance(state, dict) else {}
            owner = state.get("owner_pid")
            if isinstance(owner, int) and owner != os.getpid() and _pid_alive(owner):
                raise LocalRegionError(
                    f"a local region started by pid {owner} is still running from "
                    f"{self.run_dir}; stop it first, or pass another run directory"
                )
            left = _processes_left_running(state)
            if left:
                listed = ", ".join(f"{name} pid {pid}" for name, pid in left)
                groups = " ".join(f"-{pid}" for _, pid in left)
                count = "1 process" if len(left) == 1 else f"{len(left)} processes"
                raise LocalRegionError(
                    f"{count} of an earlier local region in {self.run_dir} still running "
                    f"({listed}); stop them with `kill -TERM -- {groups}`, then start again"
                )
        if self.run_dir.is_dir() and not (self.run_dir / RUN_DIR_MARKER).exists():
            # Without the marker no local region created this directory, so any file in
            # it, at any depth (keys/id_rsa too), belongs to someone else.
            foreign = _files_under(self.run_dir, limit=3)
            if foreign:
                raise LocalRegionError(
                    f"invalid run directory {self.run_dir}: it contains files that no local "
                    f"region wrote ({', '.join(foreign)}); pass a new or empty directory"
                )

    def _clean_run_dir(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / RUN_DIR_MARKER).touch()
        except OSError as error:
            raise LocalRegionError(
                f"cannot create run directory {self.run_dir}: {error.strerror}; "
                "pass a directory you can write to"
            ) from None
        for entry in RUN_DIR_ENTRIES:
            path = self.run_dir / entry
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def _write_state(self) -> None:
        state = {
            "owner_pid": os.getpid(),
            "router_url": self.router_url if self.ports else None,
            "cells": {
                cell.name: {
                    "jurisdiction": cell.jurisdiction,
                    "sidecar_url": cell.sidecar_url,
                    "service_url": cell.service_url,
                    "agent_url": cell.agent_url,
                    "agent_diagnostic_url": cell.agent_diagnostic_url,
                }
                for cell in self.cells
            },
            "processes": self.supervisor.pids(),
            "commands": self.supervisor.commands(),
        }
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")

    def _prepare_cell(self, cell: Cell) -> None:
        cell.directory.mkdir(parents=True, exist_ok=True)
        cell.persistence_directory.mkdir(parents=True, exist_ok=True)
        sidecar_config = configs.write_sidecar_config(cell, self.region)
        configs.validate_envoy_config(self._tools.envoy, sidecar_config)
        spec = configs.agent_spec(
            cell,
            self.region,
            bundle_name=self.bundle_name,
            repository_url=self._repository.bucket_url,
            signing_key_id=self.governance.signing_key_id,
            signing_public_key_pem=self.governance.signing_public_key_pem,
            polling_min_delay_seconds=self.polling_min_delay_seconds,
            polling_max_delay_seconds=self.polling_max_delay_seconds,
        )
        _, args = configs.write_agent_config(cell, spec)
        self._agent_args[cell.name] = args

    # -- processes of one cell ------------------------------------------------------------

    def _start_service(self, cell: Cell) -> None:
        self.supervisor.start(
            cell.process_name("service"),
            [
                self._tools.python,
                "-m",
                "localregion.service",
                "--cell",
                cell.name,
                "--port",
                str(cell.ports.service),
                "--database",
                str(cell.database_path),
            ],
            env=repository.child_environment(PYTHONPATH=str(ROOT)),
            cwd=cell.directory,
        )
        self._write_state()

    def _wait_service(self, cell: Cell, deadline: Deadline) -> None:
        wait_until(
            http_status_is(f"{cell.service_url}/healthz"),
            f"the service of {cell.name} at {cell.service_url}/healthz",
            deadline,
            supervisor=self.supervisor,
            process=cell.process_name("service"),
        )
        self.supervisor.check_listening(cell.process_name("service"), cell.ports.service)

    def _start_agent(self, cell: Cell) -> None:
        if cell.agent_transport == "unix":
            # A socket file left by a killed agent would make the new one fail to listen.
            Path(cell.agent_address.removeprefix("unix://")).unlink(missing_ok=True)
        self.supervisor.start(
            cell.process_name("agent"),
            [self._tools.policy_agent, *self._agent_args[cell.name]],
            env=repository.child_environment(),
            cwd=cell.directory,
        )
        self._write_state()

    def _wait_agent(self, cell: Cell, deadline: Deadline) -> None:
        process = cell.process_name("agent")
        wait_until(
            http_status_is(f"{cell.agent_url}/health?bundles"),
            f"the agent of {cell.name} to activate a bundle ({cell.agent_url}/health?bundles)",
            deadline,
            supervisor=self.supervisor,
            process=process,
        )
        if cell.agent_transport == "unix":
            socket_path = Path(cell.agent_address.removeprefix("unix://"))
            ready = socket_path.exists
        else:
            ready = port_listening(cell.ports.agent_authz)
        wait_until(
            ready,
            f"the ext_authz server of {cell.name} at {cell.agent_address}",
            deadline,
            supervisor=self.supervisor,
            process=process,
        )
        ports = [cell.ports.agent_http, cell.ports.agent_diagnostic]
        if cell.agent_transport == "tcp":
            ports.append(cell.ports.agent_authz)
        for port in ports:
            self.supervisor.check_listening(process, port)

    def _start_sidecar(self, cell: Cell) -> None:
        self.supervisor.start(
            cell.process_name("sidecar"),
            self._envoy_argv(cell.directory / "sidecar.yaml", f"{self.region}-{cell.name}"),
            env=repository.child_environment(),
            cwd=cell.directory,
        )
        self._write_state()

    def _wait_sidecar(self, cell: Cell, deadline: Deadline) -> None:
        process = cell.process_name("sidecar")
        wait_until(
            http_status_is(f"{cell.sidecar_admin_url}/ready"),
            f"the sidecar of {cell.name} to be ready ({cell.sidecar_admin_url}/ready)",
            deadline,
            supervisor=self.supervisor,
            process=process,
        )
        wait_until(
            http_status_is(f"{cell.sidecar_url}/healthz"),
            f"GET /healthz through the sidecar of {cell.name} to return 200",
            deadline,
            supervisor=self.supervisor,
            process=process,
        )
        for port in (cell.ports.sidecar, cell.ports.sidecar_admin):
            self.supervisor.check_listening(process, port)

    def _start_router(self, deadline: Deadline) -> None:
        directory = self.run_dir / "router"
        directory.mkdir(parents=True, exist_ok=True)
        config = configs.write_router_config(
            self.cells, self.region, directory, self._plan.router, self._plan.router_admin
        )
        configs.validate_envoy_config(self._tools.envoy, config)
        self.supervisor.start(
            ROUTER_PROCESS,
            self._envoy_argv(config, f"{self.region}-router"),
            env=repository.child_environment(),
            cwd=directory,
        )
        self._write_state()
        wait_until(
            http_status_is(f"{self.router_admin_url}/ready"),
            f"the router to be ready ({self.router_admin_url}/ready)",
            deadline,
            supervisor=self.supervisor,
            process=ROUTER_PROCESS,
        )
        for port in (self._plan.router, self._plan.router_admin):
            self.supervisor.check_listening(ROUTER_PROCESS, port)
        self.wait_for_router_health({cell.name: True for cell in self.cells}, deadline)

    def _envoy_argv(self, config: Path, service_node: str) -> list[str]:
        # One worker thread per Envoy: the region runs 1 + N Envoys on a small machine.
        return [
            self._tools.envoy,
            "-c",
            str(config),
            "--disable-hot-restart",
            "--concurrency",
            "1",
            "--log-level",
            "warn",
            "--service-node",
            service_node,
        ]

    # -- take-down ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process of the region, the router first and the repository last."""
        self.supervisor.stop_all()
        state_path = self.run_dir / STATE_FILE
        if self._started and state_path.exists():
            state_path.unlink()
        self._started = False

    # -- drills ------------------------------------------------------------------------

    def stop_repository(self) -> None:
        self._repository.stop()

    def start_repository(self) -> None:
        """Start the repository again and republish the active revision (moto forgets)."""
        deadline = Deadline(self.ready_timeout_seconds)
        self._repository.start(deadline)
        bundle = self.governance.bundle_path(self.revision)
        self.governance.publish(self._repository, bundle)
        self._write_state()

    def stop_agent(self, cell: str) -> None:
        self.supervisor.stop(self.cell(cell).process_name("agent"))

    def start_agent(self, cell: str) -> None:
        """Start the cell's agent again and wait until it has activated a bundle."""
        target = self.cell(cell)
        self._start_agent(target)
        self._wait_agent(target, Deadline(self.ready_timeout_seconds))

    def stop_service(self, cell: str) -> None:
        self.supervisor.stop(self.cell(cell).process_name("service"))

    def start_service(self, cell: str) -> None:
        target = self.cell(cell)
        self._start_service(target)
        self._wait_service(target, Deadline(self.ready_timeout_seconds))

    def stop_sidecar(self, cell: str) -> None:
        self.supervisor.stop(self.cell(cell).process_name("sidecar"))

    def start_sidecar(self, cell: str) -> None:
        target = self.cell(cell)
        self._start_sidecar(target)
        self._wait_sidecar(target, Deadline(self.ready_timeout_seconds))

    # -- policy ------------------------------------------------------------------------

    def token(
        self,
        caller: str,
        *,
        ttl_seconds: int = 300,
        trusted: bool = True,
        audience: str | None = None,
    ) -> str:
        """Mint a bearer token for caller.

        A negative ttl_seconds gives an expired token; trusted=False signs with a key that
        no bundle trusts.
        """
        return self.governance.token(
            caller, ttl_seconds=ttl_seconds, trusted=trusted, audience=audience
        )

    @property
    def data(self) -> dict:
        """A copy of data.authz of the active revision."""
        return copy.deepcopy(self._data)

    def publish(self, changes: dict, *, wait: bool = True) -> str:
        """Publish a new revision whose data.authz has the top-level keys in changes replaced.

        For example `publish({"revoked": ["legacy-batch", "billing"]})`. With wait, return
        only when every running agent has activated the new revision.
        """
        unknown = sorted(set(changes) - set(self._data))
        if unknown:
            raise LocalRegionError(
                f"unknown data.authz keys {unknown}; expected some of {sorted(self._data)}"
            )
        self._data = {**self._data, **copy.deepcopy(changes)}
        bundle = self._build_next_revision()
        self.governance.publish(self._repository, bundle)
        if wait:
            self.wait_for_revision(self.revision)
        return self.revision

    def active_revision(self, cell: str) -> str | None:
        """Return the bundle revision that the cell's agent has activated, or None."""
        url = (
            f"{self.cell(cell).agent_url}/v1/data/system/bundles/"
            f"{self.bundle_name}/manifest/revision"
        )
        try:
            response = httpx.get(url, timeout=2.0, trust_env=False)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return response.json().get("result")

    def wait_for_revision(self, revision: str, timeout_seconds: float | None = None) -> None:
        """Wait until every cell whose agent runs has activated revision."""
        deadline = Deadline(timeout_seconds or self.ready_timeout_seconds)
        running = set(self.supervisor.running())
        for cell in self.cells:
            if cell.process_name("agent") not in running:
                continue
            wait_until(
                lambda name=cell.name: self.active_revision(name) == revision,
                f"the agent of {cell.name} to activate revision {revision}",
                deadline,
                supervisor=self.supervisor,
                process=cell.process_name("agent"),
            )

    def wait_for_router_health(self, expected: dict[str, bool], deadline: Deadline) -> None:
        """Wait until the router's health checks see each named cell as expected."""
        wait_until(
            lambda: all(
                self.router_health().get(name) == healthy for name, healthy in expected.items()
            ),
            f"the router to see cells as {expected}",
            deadline,
            supervisor=self.supervisor,
            process=ROUTER_PROCESS,
        )

    def router_health(self) -> dict[str, bool]:
        """Return, per cell name, whether the router serves the cell's users now."""
        return router_admin.cell_health(self.router_admin_url)

    def decision_latency(self, cell: str) -> Histogram:
        """Return the agent's decision latency histogram (seconds) from its /metrics."""
        target = self.cell(cell)
        response = httpx.get(f"{target.agent_diagnostic_url}/metrics", timeout=5.0, trust_env=False)
        response.raise_for_status()
        histogram = parse_histogram(response.text, DECISION_LATENCY_METRIC)
        if histogram is None:
            raise LocalRegionError(
                f"the agent of {cell} exports no histogram {DECISION_LATENCY_METRIC}; "
                f"it has {', '.join(histogram_names(response.text)) or 'none'}"
            )
        return histogram

    def _build_next_revision(self) -> Path:
        self._revision_number += 1
        self.revision = f"r{self._revision_number}"
        return self.governance.build(self._data, self.revision)

    @property
    def _tools(self) -> Tools:
        if self.tools is None:
            raise LocalRegionError("the region has not been started")
        return self.tools

    @property
    def _repository(self) -> BundleRepository:
        if self.repository is None:
            raise LocalRegionError("the region has not been started")
        return self.repository


class _StepPrinter:
    """Print one numbered line per bring-up step with the time since start."""

    def __init__(self, emit: Callable[[str], None], total: int, started_at: float) -> None:
        self.emit = emit
        self.total = total
        self.started_at = started_at
        self.number = 0

    def __call__(self, message: str) -> None:
        self.number += 1
        elapsed = time.monotonic() - self.started_at
        self.emit(f"[{self.number}/{self.total}] {elapsed:5.1f} s  {message}")


def _check_positive_seconds(what: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise LocalRegionError(f"invalid {what} {value!r}; expected a number of seconds above 0")


def _check_polling(minimum: object, maximum: object) -> None:
    for what, value in (("minimum", minimum), ("maximum", maximum)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3_600:
            raise LocalRegionError(
                f"invalid {what} polling delay {value!r}; expected whole seconds from 1 to 3600"
            )
    if maximum < minimum:
        raise LocalRegionError(
            f"invalid maximum polling delay {maximum}; expected at least the minimum, {minimum}"
        )


def _processes_left_running(state: dict) -> list[tuple[str, int]]:
    """Return (name, pid) of each process in a region state that runs its recorded command.

    A pid whose command line differs now belongs to some other program and is left out.
    Each process led its own process group, so `kill -- -PID` stops it and its children.
    """
    pids = state.get("processes")
    commands = state.get("commands")
    if not isinstance(pids, dict) or not isinstance(commands, dict):
        return []
    left = []
    for name, pid in pids.items():
        command = commands.get(name)
        recorded = isinstance(pid, int) and isinstance(command, list) and bool(command)
        if recorded and _runs_command(pid, [str(part) for part in command]):
            left.append((name, pid))
    return sorted(left, key=lambda entry: entry[1])


def _runs_command(pid: int, command: list[str]) -> bool:
    try:
        running = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    running = [part.decode(errors="replace") for part in running if part]
    # A script started through its #! line runs as [interpreter, script, arguments...],
    # so the program may appear after an interpreter: compare from the program onwards.
    program = Path(command[0]).name
    for start, part in enumerate(running):
        if Path(part).name == program and running[start + 1 :] == command[1:]:
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
