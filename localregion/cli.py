"""Command line of the local region: bring it up and serve, or run the scripted check."""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

import httpx

from components.sidecar import SpecError
from localregion.cases import standard_cases
from localregion.check import format_table, run_cases
from localregion.errors import LocalRegionError
from localregion.metrics import Histogram
from localregion.ports import MAX_CELLS
from localregion.region import DEFAULT_RUN_DIR, LocalRegion

PROG = "scripts/local-region"
DEFAULT_BASE_PORT = 18000
EXAMPLE_USER = "user-7"
EXAMPLE_CALLER = "orders-web"
EXAMPLE_TOKEN_TTL_SECONDS = 3600


# Exit status of a --check that SIGINT or SIGTERM cut short, as a shell reports SIGINT.
INTERRUPTED_STATUS = 130
USAGE_ERROR_STATUS = 2


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR_STATUS, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _OneLineParser(
        prog=PROG,
        description=(
            "Run a region of cells on this machine: per cell a sample service behind an "
            "Envoy sidecar and a policy agent, an Envoy router in front, and the signed "
            "policy bundle served from an S3 API (moto) on 127.0.0.1."
        ),
    )
    parser.add_argument(
        "--cells", type=int, default=3, help=f"number of cells, 2 to {MAX_CELLS} (default 3)"
    )
    parser.add_argument(
        "--eu-cells",
        type=int,
        default=1,
        help="how many cells have jurisdiction eu; the others have us (default 1)",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help=(
            f"first port: router at BASE, its admin at BASE+1, repository at BASE+2, cell i "
            f"at BASE+10+10*i..+5; 0 picks free ports (default {DEFAULT_BASE_PORT})"
        ),
    )
    parser.add_argument(
        "--agent-transport",
        choices=("tcp", "unix"),
        default="tcp",
        help="how each sidecar reaches its agent: loopback TCP or a unix socket (default tcp)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="directory for keys, bundles, configs, databases and logs (default .local-region)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds the bring-up may take before it is abandoned (default 120)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="send the scripted requests, print expected and actual, take the region down; "
        "exit 0 only if every row matches",
    )
    parser.add_argument("--verbose", action="store_true", help="log every process start and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"{PROG}: %(levelname)s %(name)s: %(message)s",
    )
    stop_requested = threading.Event()
    _install_signal_handlers(stop_requested)
    region: LocalRegion | None = None
    stopped = False
    try:
        region = LocalRegion(
            cells=args.cells,
            eu_cells=args.eu_cells,
            run_dir=args.run_dir,
            base_port=args.base_port,
            agent_transport=args.agent_transport,
            ready_timeout_seconds=args.timeout,
            progress=lambda line: print(f"{PROG}: {line}", flush=True),
        )
        region.start()
        print(f"{PROG}: region up in {region.bring_up_seconds:.1f} s", flush=True)
        if args.check:
            status = run_check(region)
        else:
            serve(region, stop_requested)
            status = 0
    except Stopped:
        stopped = True
        status = INTERRUPTED_STATUS if args.check else 0
    except (LocalRegionError, SpecError, OSError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr, flush=True)
        status = 1
    finally:
        # From here on a signal no longer interrupts anything, so the take-down runs to
        # its end. start() has already taken down a region whose bring-up failed.
        stop_requested.set()
        if region is not None:
            region.stop()
    if stopped:
        print(f"{PROG}: stopped; every process of the region has exited", flush=True)
    return status


def run_check(region: LocalRegion) -> int:
    cases = standard_cases([cell.name for cell in region.cells])
    results = run_cases(region, cases)
    print(format_table(results), flush=True)
    failed = [result for result in results if not result.passed]
    print(f"{PROG}: {len(results) - len(failed)} passed, {len(failed)} failed", flush=True)
    print_decision_latency(region)
    return 1 if failed else 0


def print_decision_latency(region: LocalRegion) -> None:
    for cell in region.cells:
        try:
            histogram = region.decision_latency(cell.name)
        except (LocalRegionError, httpx.HTTPError) as error:
            print(f"{PROG}: {cell.name}: decision latency not available: {error}", flush=True)
            continue
        print(f"{PROG}: {cell.name}: {_latency_line(histogram)}", flush=True)


def _latency_line(histogram: Histogram) -> str:
    p50 = histogram.quantile(0.5) * 1000
    p99 = histogram.quantile(0.99) * 1000
    return (
        f"{int(histogram.count)} decisions, p50 ~{p50:.3f} ms, p99 ~{p99:.3f} ms "
        f"(estimated from {histogram.name} buckets)"
    )


def serve(region: LocalRegion, stop_requested: threading.Event) -> None:
    token = region.token(EXAMPLE_CALLER, ttl_seconds=EXAMPLE_TOKEN_TTL_SECONDS)
    print(f"{PROG}: router at {region.router_url}", flush=True)
    for cell in region.cells:
        print(
            f"{PROG}:   cell {cell.name} ({cell.jurisdiction}): sidecar {cell.sidecar_url}, "
            f"agent {cell.agent_url}, configuration and database in {cell.directory}",
            flush=True,
        )
    print(f"{PROG}: the output of every process is in {region.supervisor.log_dir}", flush=True)
    print(
        f"{PROG}: try (token for {EXAMPLE_CALLER}, valid 1 h):\n"
        f"  curl -i -H 'authorization: Bearer {token}' -H 'x-user-id: {EXAMPLE_USER}' "
        f"{region.router_url}/v1/orders",
        flush=True,
    )
    print(f"{PROG}: serving; press Ctrl-C to stop", flush=True)
    reported: set[str] = set()
    expected = set(region.supervisor.running())
    while not stop_requested.wait(timeout=1.0):
        exited = expected - set(region.supervisor.running()) - reported
        for name in sorted(exited):
            process = region.supervisor.get(name)
            print(
                f"{PROG}: warning: {name} exited with status {process.popen.returncode}; "
                f"log: {process.log_path}",
                flush=True,
            )
        reported |= exited
    raise Stopped


def _install_signal_handlers(stop_requested: threading.Event) -> None:
    def handle(signum: int, _frame: object) -> None:
        if stop_requested.is_set():
            return
        stop_requested.set()
        print(f"{PROG}: {signal.Signals(signum).name} received; stopping the region", flush=True)
        # During bring-up nothing waits on the event, so interrupt the step instead.
        raise Stopped

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
