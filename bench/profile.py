"""CPU profiles of the policy agent and of stock opa-envoy-plugin under the same load.

`python -m bench.profile [--rate 100] [--seconds 20] [--out DIR]` brings up a two-cell local
region, starts a second agent and a second stock OPA with `--pprof` and the configuration of
edge setups (b) and (c), each behind its own Envoy, sends the same allowed requests to each
in turn and takes a CPU profile of each server meanwhile. It writes DIR/agent.pprof and
DIR/opa-envoy.pprof; read them with `go tool pprof -top -cum FILE`.
"""

import argparse
import sys
import threading
from pathlib import Path

import httpx
import yaml

from bench.edge.measure import TOKEN_TTL_SECONDS, allowed_targets
from bench.edge.setups import BIN, EdgeStack, Setup, stock_opa_config, write_rego_bundle
from bench.ports import free_ports
from loadgen import LoadgenError, run_constant_rate
from localregion.errors import LocalRegionError
from localregion.readiness import Deadline, http_status_is, port_listening, wait_until
from localregion.region import LocalRegion
from localregion.repository import child_environment

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 90.0
WARMUP_SECONDS = 3.0
AGENT = "profile-agent"
STOCK_OPA = "profile-opa-envoy"
SERVER_FLAGS = ["--server", "--pprof", "--disable-telemetry", "--skip-version-check"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile",
        description="Take CPU profiles of the policy agent and of stock opa-envoy-plugin "
        "under the same load through Envoy.",
    )
    parser.add_argument("--rate", type=int, default=100, help="requests per second (default 100)")
    parser.add_argument(
        "--seconds", type=int, default=20, help="length of each profile in seconds (default 20)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "out" / "bench-profile", help="directory for the files"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rate <= 5000:
        parser.error(f"invalid --rate {args.rate}: expected 1 to 5000 requests per second")
    if not 5 <= args.seconds <= 300:
        parser.error(f"invalid --seconds {args.seconds}: expected 5 to 300 seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        written = profile(args.rate, args.seconds, args.out)
    except (LocalRegionError, LoadgenError, httpx.HTTPError) as error:
        print(f"profile: failed: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"profile: wrote {path}; read it with `go tool pprof -top -cum {path}`")
    return 0


def profile(rate: int, seconds: int, out: Path) -> list[Path]:
    """Profile both servers in turn and return the profile files."""
    work = out / "work"
    with LocalRegion(cells=2, run_dir=work / "region", progress=_print) as region:
        tokens: dict[str, str] = {}

        def mint_token(caller: str) -> str:
            if caller not in tokens:
                tokens[caller] = region.token(caller, ttl_seconds=TOKEN_TTL_SECONDS)
            return tokens[caller]

        servers = _start_servers(region, work)
        written = []
        for name, (envoy_url, pprof_url) in servers.items():
            targets = allowed_targets(envoy_url, mint_token)
            run_constant_rate(targets, rate, WARMUP_SECONDS)
            profile_bytes = _profile_under_load(targets, rate, seconds, pprof_url)
            path = out / f"{name}.pprof"
            path.write_bytes(profile_bytes)
            written.append(path)
        return written


def _start_servers(region: LocalRegion, work: Path) -> dict[str, tuple[str, str]]:
    """Start the second agent, the second stock OPA and an Envoy for each.

    Returns, per server, the URL of its Envoy and the URL of its pprof CPU profile. The
    region's supervisor stops every process when the region stops.
    """
    supervisor = region.supervisor
    deadline = Deadline(READY_TIMEOUT_SECONDS)
    cell = region.cells[0]
    stack = EdgeStack(region, work / "edge", one_way_delay_ms=0)
    stack.workdir.mkdir(parents=True, exist_ok=True)
    agent_authz, agent_http, agent_diagnostic, opa_authz, opa_http, opa_diagnostic = free_ports(6)

    agent_config = yaml.safe_load((cell.directory / "agent.yaml").read_text())
    agent_config["plugins"]["envoy_ext_authz_wasm"]["addr"] = f"127.0.0.1:{agent_authz}"
    agent_config["persistence_directory"] = str(work / "agent-persistence")
    agent_config_path = work / "agent.yaml"
    agent_config_path.write_text(yaml.safe_dump(agent_config, sort_keys=False))
    supervisor.start(
        AGENT,
        [
            str(BIN / "policy-agent"),
            "run",
            *SERVER_FLAGS,
            "--addr",
            f"127.0.0.1:{agent_http}",
            "--diagnostic-addr",
            f"127.0.0.1:{agent_diagnostic}",
            "--config-file",
            str(agent_config_path),
        ],
        env=child_environment(),
        cwd=work,
    )

    bundle_dir = write_rego_bundle(
        work / "rego-bundle", region.governance.bundle_path(region.revision)
    )
    opa_config_path = work / "opa-envoy.yaml"
    opa_config = stock_opa_config(agent_config, f"127.0.0.1:{opa_authz}")
    opa_config_path.write_text(yaml.safe_dump(opa_config, sort_keys=False))
    supervisor.start(
        STOCK_OPA,
        [
            str(BIN / "opa-envoy-plugin"),
            "run",
            *SERVER_FLAGS,
            "--addr",
            f"127.0.0.1:{opa_http}",
            "--diagnostic-addr",
            f"127.0.0.1:{opa_diagnostic}",
            "--config-file",
            str(opa_config_path),
            "--bundle",
            str(bundle_dir),
        ],
        env=child_environment(),
        cwd=work,
    )

    servers = {}
    for name, process, http_port, authz_port in (
        ("agent", AGENT, agent_http, agent_authz),
        ("opa-envoy", STOCK_OPA, opa_http, opa_authz),
    ):
        wait_until(
            http_status_is(f"http://127.0.0.1:{http_port}/health?bundles"),
            f"{process} to activate its bundle",
            deadline,
            supervisor=supervisor,
            process=process,
        )
        wait_until(
            port_listening(authz_port),
            f"the ext_authz server of {process} on 127.0.0.1:{authz_port}",
            deadline,
            supervisor=supervisor,
            process=process,
        )
        listen, admin = free_ports(2)
        setup = Setup(name, f"profile-{name}", f"Envoy in front of {process}", True)
        stack.start_envoy(setup, f"127.0.0.1:{authz_port}", listen, admin)
        envoy_url = f"http://127.0.0.1:{listen}"
        wait_until(http_status_is(f"{envoy_url}/healthz"), f"Envoy in front of {process}", deadline)
        servers[name] = (envoy_url, f"http://127.0.0.1:{http_port}/debug/pprof/profile")
    return servers


def _profile_under_load(targets, rate: int, seconds: int, pprof_url: str) -> bytes:
    """Return a CPU profile of `seconds` taken while load runs for a little longer."""
    outcome: dict[str, object] = {}

    def fetch() -> None:
        try:
            response = httpx.get(
                pprof_url, params={"seconds": seconds}, timeout=seconds + 30, trust_env=False
            )
            response.raise_for_status()
            outcome["profile"] = response.content
        except httpx.HTTPError as error:
            outcome["error"] = error

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    # The load starts with the profile and runs 2 s past its end, so it covers the profile.
    run_constant_rate(targets, rate, seconds + 2)
    fetcher.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["profile"]


def _print(line: str) -> None:
    print(f"profile: {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
