"""The four edge setups, started next to a running local region and sharing its first cell.

Every setup has its own Envoy with the configuration that the sidecar generator produces
for the cell, the same flags as the region's sidecars, and the same service. Only the
address of the authorization server differs, and setup (a) has no ext_authz filter.
"""

import copy
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.ports import free_ports
from components.sidecar import SidecarSpec, sidecar_bootstrap, write_yaml
from components.sidecar.envoy_sidecar import AGENT_CLUSTER, EXT_AUTHZ_FILTER
from localregion.readiness import Deadline, http_status_is, port_listening, wait_until
from localregion.region import LocalRegion
from localregion.repository import child_environment
from localregion.topology import Cell

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "bin"
POLICY_DIR = ROOT / "policies" / "authz"
# The stock plugin's name in opa-envoy-plugin v1.14.0.
STOCK_PLUGIN = "envoy_ext_authz_grpc"
READY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Setup:
    """One way of authorizing the cell's requests."""

    key: str
    name: str
    description: str
    authorizes: bool


SETUPS = (
    Setup("a", "no-authz", "Envoy and the service, no ext_authz filter", False),
    Setup("b", "agent-wasm", "the policy agent, bundle WebAssembly, on loopback", True),
    Setup("c", "opa-envoy-rego", "stock opa-envoy-plugin v1.14.0, the policy as Rego", True),
    Setup("d", "agent-remote", "the policy agent behind a TCP delay line", True),
)


@dataclass(frozen=True)
class RunningSetup:
    """A started setup: where to send requests and which processes to measure."""

    setup: Setup
    url: str
    admin_url: str
    # Process name -> pid, for CPU accounting: envoy, authz (agent or OPA), service and,
    # for (d), the delay line as proxy.
    pids: dict[str, int]


class EdgeStack:
    """Envoys for all four setups, stock OPA and the delay line, on top of a local region.

    The processes run under the region's supervisor, so the region stops them too.
    """

    def __init__(self, region: LocalRegion, workdir: Path, one_way_delay_ms: float) -> None:
        self.region = region
        self.workdir = Path(workdir)
        self.one_way_delay_ms = one_way_delay_ms
        self.cell: Cell = region.cells[0]
        self.running: dict[str, RunningSetup] = {}

    def start(self) -> dict[str, RunningSetup]:
        """Start every setup's processes and wait until each one passes a health request."""
        deadline = Deadline(READY_TIMEOUT_SECONDS)
        self.workdir.mkdir(parents=True, exist_ok=True)
        supervisor = self.region.supervisor
        agent_pid = supervisor.get(self.cell.process_name("agent")).pid
        service_pid = supervisor.get(self.cell.process_name("service")).pid

        opa_authz, opa_http, opa_diagnostic, proxy_port = free_ports(4)
        opa_pid = self._start_stock_opa(opa_authz, opa_http, opa_diagnostic, deadline)
        proxy_pid = self._start_delay_proxy(proxy_port, deadline)

        authz_address = {
            "a": None,
            "b": self.cell.agent_address,
            "c": f"127.0.0.1:{opa_authz}",
            "d": f"127.0.0.1:{proxy_port}",
        }
        authz_pid = {"a": None, "b": agent_pid, "c": opa_pid, "d": agent_pid}
        for setup in SETUPS:
            listen, admin = free_ports(2)
            envoy_pid = self.start_envoy(setup, authz_address[setup.key], listen, admin)
            pids = {"envoy": envoy_pid, "service": service_pid}
            if authz_pid[setup.key] is not None:
                pids["authz"] = authz_pid[setup.key]
            if setup.key == "d":
                pids["proxy"] = proxy_pid
            self.running[setup.key] = RunningSetup(
                setup=setup,
                url=f"http://127.0.0.1:{listen}",
                admin_url=f"http://127.0.0.1:{admin}",
                pids=pids,
            )
        for running in self.running.values():
            process = _envoy_process(running.setup)
            wait_until(
                http_status_is(f"{running.url}/healthz"),
                f"GET /healthz through the Envoy of setup ({running.setup.key})",
                deadline,
                supervisor=supervisor,
                process=process,
            )
        return self.running

    def stop(self) -> None:
        supervisor = self.region.supervisor
        for setup in SETUPS:
            supervisor.stop(_envoy_process(setup))
        supervisor.stop("bench-delay-proxy")
        supervisor.stop("bench-opa-envoy")

    # -- processes -----------------------------------------------------------------------

    def start_envoy(self, setup: Setup, authz_address: str | None, listen: int, admin: int):
        """Start an Envoy of the cell's sidecar configuration in front of authz_address."""
        # Setup (a) still needs some valid agent address for the spec; its filter is removed.
        spec = SidecarSpec(
            cell=self.cell.name,
            jurisdiction=self.cell.jurisdiction,
            region=self.region.region,
            listen_port=listen,
            admin_port=admin,
            service_port=self.cell.ports.service,
            agent_address=authz_address or self.cell.agent_address,
            access_log_path=str(self.workdir / f"envoy-{setup.key}-access.log"),
        )
        bootstrap = sidecar_bootstrap(spec)
        if not setup.authorizes:
            bootstrap = without_ext_authz(bootstrap)
        config = write_yaml(bootstrap, self.workdir / f"envoy-{setup.key}.yaml")
        process = self.region.supervisor.start(
            _envoy_process(setup),
            [
                str(BIN / "envoy"),
                "-c",
                str(config),
                "--disable-hot-restart",
                # One worker thread, as the region runs its sidecars.
                "--concurrency",
                "1",
                "--log-level",
                "warn",
                "--service-node",
                f"bench-{setup.name}",
            ],
            env=child_environment(),
            cwd=self.workdir,
        )
        return process.pid

    def _start_stock_opa(self, authz: int, http: int, diagnostic: int, deadline: Deadline):
        wasm_bundle = self.region.governance.bundle_path(self.region.revision)
        bundle_dir = write_rego_bundle(self.workdir / "rego-bundle", wasm_bundle)
        config_path = self.workdir / "opa-envoy.yaml"
        config_path.write_text(
            yaml.safe_dump(
                stock_opa_config(self._agent_config(), f"127.0.0.1:{authz}"), sort_keys=False
            )
        )
        name = "bench-opa-envoy"
        process = self.region.supervisor.start(
            name,
            [
                str(BIN / "opa-envoy-plugin"),
                "run",
                "--server",
                # OPA v1.14.0 (cmd/run.go) deprecates --disable-telemetry in favour of
                # --skip-version-check but honours both; either skips the GitHub check.
                "--disable-telemetry",
                "--skip-version-check",
                "--addr",
                f"127.0.0.1:{http}",
                "--diagnostic-addr",
                f"127.0.0.1:{diagnostic}",
                "--config-file",
                str(config_path),
                "--bundle",
                str(bundle_dir),
            ],
            env=child_environment(),
            cwd=self.workdir,
        )
        wait_until(
            http_status_is(f"http://127.0.0.1:{http}/health?bundles"),
            "stock opa-envoy-plugin to load the Rego bundle",
            deadline,
            supervisor=self.region.supervisor,
            process=name,
        )
        wait_until(
            port_listening(authz),
            f"the ext_authz server of stock opa-envoy-plugin on 127.0.0.1:{authz}",
            deadline,
            supervisor=self.region.supervisor,
            process=name,
        )
        return process.pid

    def _start_delay_proxy(self, port: int, deadline: Deadline):
        name = "bench-delay-proxy"
        process = self.region.supervisor.start(
            name,
            [
                str(BIN / "delay-proxy"),
                "-listen",
                f"127.0.0.1:{port}",
                "-target",
                self.cell.agent_address,
                "-one-way-delay",
                f"{self.one_way_delay_ms * 1000:.0f}us",
            ],
            env=child_environment(),
            cwd=self.workdir,
        )
        wait_until(
            port_listening(port),
            f"the delay line on 127.0.0.1:{port}",
            deadline,
            supervisor=self.region.supervisor,
            process=name,
        )
        return process.pid

    def _agent_config(self) -> dict:
        return yaml.safe_load((self.cell.directory / "agent.yaml").read_text())


def _envoy_process(setup: Setup) -> str:
    return f"bench-envoy-{setup.key}"


def without_ext_authz(bootstrap: dict) -> dict:
    """Return a copy of a sidecar bootstrap without ext_authz: no filter, route settings or
    agent cluster."""
    config = copy.deepcopy(bootstrap)
    resources = config["static_resources"]
    resources["clusters"] = [c for c in resources["clusters"] if c["name"] != AGENT_CLUSTER]
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                manager = network_filter["typed_config"]
                manager["http_filters"] = [
                    f for f in manager["http_filters"] if f["name"] != EXT_AUTHZ_FILTER
                ]
                for host in manager["route_config"]["virtual_hosts"]:
                    for route in host["routes"]:
                        route.get("typed_per_filter_config", {}).pop(EXT_AUTHZ_FILTER, None)
                        if route.get("typed_per_filter_config") == {}:
                            del route["typed_per_filter_config"]
    return config


def stock_opa_config(agent_config: dict, authz_address: str) -> dict:
    """Return stock opa-envoy-plugin's configuration, derived from the agent's.

    Labels, decision logs, status and caching stay as the agent has them, so both log
    every decision the same way. The bundle comes from a local directory instead of the
    repository, which changes how it is loaded but not how a request is evaluated.

    NOTE: opa-envoy-plugin v1.14.0-envoy evaluates without a value cache (its
    internal/internal.go never sets interQueryValueCache), so the caching section does not
    give it the agent's verified-token cache.
    """
    config = {
        key: copy.deepcopy(value)
        for key, value in agent_config.items()
        if key in ("labels", "decision_logs", "status", "caching")
    }
    plugin = next(iter(agent_config["plugins"].values()))
    config["plugins"] = {
        STOCK_PLUGIN: {
            "addr": authz_address,
            "path": plugin["path"],
            "enable_reflection": False,
        }
    }
    return config


def write_rego_bundle(directory: Path, wasm_bundle: Path, policy_dir: Path = POLICY_DIR) -> Path:
    """Write a Rego bundle of the policy sources with the data and manifest of wasm_bundle.

    The Rego files inside a WebAssembly bundle are what `opa build -t wasm` left after
    compiling the entrypoint away, so the sources come from policy_dir (the files the
    bundle was built from, tests left out), and data.json from the bundle itself. A source
    whose package lies outside the bundle's roots is left out, because OPA rejects a bundle
    with such a module, so the WebAssembly bundle cannot hold it either. Stock OPA then
    evaluates the same policy and data as Rego.
    """
    if directory.exists():
        shutil.rmtree(directory)
    with tarfile.open(wasm_bundle) as archive:
        members = {member.name.lstrip("/"): member for member in archive.getmembers()}
        if ".manifest" not in members or "data.json" not in members:
            raise ValueError(f"{wasm_bundle} has no .manifest or no data.json")
        data = archive.extractfile(members["data.json"]).read()
        manifest = json.loads(archive.extractfile(members[".manifest"]).read())
    manifest.pop("wasm", None)
    roots = manifest.get("roots", [""])

    sources = [
        path
        for path in sorted(policy_dir.glob("*.rego"))
        if not path.name.endswith("_test.rego") and _within_roots(_package(path), roots)
    ]
    if not sources:
        raise ValueError(f"{policy_dir} has no Rego sources under the roots {roots}")
    sources_dir = directory / "policies" / "authz"
    sources_dir.mkdir(parents=True)
    for source in sources:
        shutil.copyfile(source, sources_dir / source.name)
    (directory / "data.json").write_bytes(data)
    (directory / ".manifest").write_text(json.dumps(manifest))
    return directory


def _package(source: Path) -> str:
    """Return the package path of a Rego file as a bundle root spells it, e.g. envoy/authz."""
    for line in source.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "package":
            return words[1].replace(".", "/")
    raise ValueError(f"{source} has no package line")


def _within_roots(package: str, roots: list[str]) -> bool:
    # An empty root (or none listed) covers every package, as in OPA's bundle manifest.
    return any(root == "" or package == root or package.startswith(root + "/") for root in roots)
