"""Drill 1: the bundle repository goes down while the data plane is under steady load.

Agents poll the repository in the background and decide from their active bundle, their
last known good one, so the outage must not fail a request, change a decision or slow
the data plane. The load is paced (open loop), so added latency shows up as latency rather
than as a lower request rate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drills import agent_status, decisions, harness, load_phases, progress
from drills.result import DrillResult, Table
from drills.sidecar_config import ext_authz_timeout_seconds
from loadgen import RequestResult, Target, start_constant_rate
from localregion.metrics import Histogram

NAME = "repository-outage"
TITLE = "1. Repository outage during load"

# p99 during the outage may exceed p99 before it by at most this fraction.
P99_TOLERANCE = 0.10


@dataclass(frozen=True)
class Settings:
    rate: int
    before_seconds: float
    outage_seconds: float
    after_seconds: float
    users_per_cell: int


# NOTE: 200 requests/s is what a 2-core machine sustains here. Each agent spent about
# 3 ms of CPU per decision (CPU profile at 60 requests/s), and at 300 requests/s the
# agents fell behind until nearly every decision exceeded the sidecar's timeout.
# "before" lasts as long as the outage, so both p99 values come from 13,000 requests.
# "after" contains no fault and serves as the control.
FULL = Settings(rate=200, before_seconds=65, outage_seconds=65, after_seconds=30, users_per_cell=5)
QUICK = Settings(rate=100, before_seconds=5, outage_seconds=5, after_seconds=5, users_per_cell=3)
# Headroom for the repository restart, which the schedule does not count as outage.
RESTART_ALLOWANCE_SECONDS = 30
# Width of the windows in the drift table.
WINDOW_SECONDS = 10.0


def _sleep_until(moment: float) -> None:
    # The drill's own schedule: the load keeps running while this waits.
    remaining = moment - time.time()
    if remaining > 0:
        time.sleep(remaining)


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    settings = QUICK if quick else FULL
    with harness.running_region(NAME, run_dir) as region:
        users = harness.users_by_cell(region, per_cell=settings.users_per_cell)
        token = harness.token_minter(region)
        sidecars = {cell.name: cell.ports.sidecar for cell in region.cells}
        probes = decisions.decision_probes(["probe"], token)
        baseline = decisions.take_cell_decisions(sidecars, probes)

        targets = [
            Target(
                f"{region.router_url}/v1/orders",
                headers={"authorization": f"Bearer {token('orders-web')}", "x-user-id": user},
            )
            for cell_users in users.values()
            for user in cell_users
        ]
        total = (
            settings.before_seconds
            + settings.outage_seconds
            + settings.after_seconds
            + RESTART_ALLOWANCE_SECONDS
        )
        progress.step(
            NAME,
            f"sending {settings.rate} requests/s through the router to {len(targets)} users "
            f"in {len(users)} cells",
        )
        with start_constant_rate(targets, settings.rate, total, timeout=2.0) as load:
            load_start = time.time()
            _sleep_until(load_start + settings.before_seconds)

            progress.step(
                NAME, f"stopping the bundle repository for {settings.outage_seconds:.0f} s"
            )
            outage_start = time.time()
            region.stop_repository()
            # Let every agent poll the stopped repository at least once before probing.
            _sleep_until(outage_start + min(settings.outage_seconds / 2, 10))
            during = decisions.take_cell_decisions(sidecars, probes)
            statuses = {
                cell.name: agent_status.bundle_status(cell.agent_url, region.bundle_name)
                for cell in region.cells
            }
            _sleep_until(outage_start + settings.outage_seconds)

            progress.step(NAME, "starting the bundle repository again")
            outage_end = time.time()
            region.start_repository()
            restarted = time.time()
            _sleep_until(restarted + settings.after_seconds)
            load.stop()
            load_end = time.time()
            measured = load.wait()
        after = decisions.take_cell_decisions(sidecars, probes)
        agent_latency = {cell.name: region.decision_latency(cell.name) for cell in region.cells}
        authz_timeout = ext_authz_timeout_seconds(region.cells[0].directory / "sidecar.yaml")

    boundaries = [
        ("before", load_start, outage_start),
        ("during outage", outage_start, outage_end),
        ("repository restarting", outage_end, restarted),
        ("after", restarted, load_end + 1),
    ]
    phases = load_phases.split_phases(measured, boundaries)
    summaries = {
        name: load_phases.summarise(name, requests, 200) for name, requests in phases.items()
    }
    table = Table(
        "Steady load through the router, by phase",
        ["phase", "seconds", "requests sent", "failed", "p50 (ms)", "p99 (ms)", "max (ms)"],
    )
    spans = {
        "before": outage_start - load_start,
        "during outage": outage_end - outage_start,
        "repository restarting": restarted - outage_end,
        "after": load_end - restarted,
    }
    for name, summary in summaries.items():
        table.rows.append(
            [
                name,
                round(spans[name], 1),
                summary.sent,
                summary.failed,
                summary.p50_ms,
                summary.p99_ms,
                summary.max_ms,
            ]
        )
    result.tables.append(table)
    result.tables.append(_drift_table(measured.requests, boundaries))
    result.tables.append(_agent_latency_table(agent_latency, authz_timeout))

    failed = sum(summary.failed for summary in summaries.values())
    result.figure("requests sent", measured.count)
    result.figure("requests failed", failed)
    result.figure("requested rate", settings.rate, "requests/s")
    result.figure("achieved rate", round(measured.achieved_rate, 1), "requests/s")
    result.figure("repository down", round(outage_end - outage_start, 1), "s")
    result.figure("decision probes per snapshot", len(baseline))

    examples = load_phases.failure_examples(measured.requests, 200)
    result.check(
        "no request failed",
        failed == 0,
        f"{failed} of {measured.count} not 200" + (": " + ", ".join(examples) if failed else ""),
    )
    during_changes = decisions.changed_decisions(baseline, during)
    after_changes = decisions.changed_decisions(baseline, after)
    result.check(
        "no decision changed during the outage",
        not during_changes,
        "; ".join(during_changes[:5]) or f"{len(baseline)} probes identical",
    )
    result.check(
        "no decision changed after the outage",
        not after_changes,
        "; ".join(after_changes[:5]) or f"{len(baseline)} probes identical",
    )
    failing_agents = [name for name, status in statuses.items() if status and status.failing]
    result.check(
        "every agent saw the repository down",
        len(failing_agents) == len(statuses),
        "; ".join(
            f"{name}: {status.describe() if status else 'no status'}"
            for name, status in statuses.items()
        ),
    )
    result.check(
        "load ran through the whole outage",
        summaries["during outage"].sent >= settings.rate * settings.outage_seconds * 0.9,
        f"{summaries['during outage'].sent} requests started during the outage",
    )
    before_p99 = summaries["before"].p99_ms
    during_p99 = summaries["during outage"].p99_ms
    after_p99 = summaries["after"].p99_ms
    if before_p99 and after_p99:
        # Neither phase contains a fault, so their ratio is the machine's own drift and noise.
        result.figure(
            "p99 after / p99 before (no fault, control)", round(after_p99 / before_p99, 2)
        )
    if before_p99 and during_p99:
        ratio = during_p99 / before_p99
        result.figure("p99 during / p99 before", round(ratio, 2))
        result.check(
            f"p99 during the outage within {P99_TOLERANCE:.0%} of before",
            ratio <= 1 + P99_TOLERANCE,
            f"{during_p99:.2f} ms during vs {before_p99:.2f} ms before, "
            f"{summaries['during outage'].sent} and {summaries['before'].sent} requests",
            safety=False,
        )


def _drift_table(
    requests: Sequence[RequestResult], boundaries: Sequence[tuple[str, float, float]]
) -> Table:
    """Tabulate latency per window of each phase, to tell drift from an effect of the outage."""
    table = Table(
        f"Latency per window of up to {WINDOW_SECONDS:.0f} s, by phase",
        ["phase", "from (s)", "requests", "p50 (ms)", "p99 (ms)"],
    )
    load_start = boundaries[0][1]
    for phase, start, end in boundaries:
        for offset, window in load_phases.split_windows(requests, start, end, WINDOW_SECONDS):
            summary = load_phases.summarise(phase, window, 200)
            table.rows.append(
                [
                    phase,
                    round(start + offset - load_start),
                    summary.sent,
                    summary.p50_ms,
                    summary.p99_ms,
                ]
            )
    return table


def _agent_latency_table(histograms: dict[str, Histogram], authz_timeout: float) -> Table:
    """Tabulate each agent's own decision time, to tell slow decisions from a slow machine.

    A sidecar that times out while its agent's histogram shows no decision near the
    timeout waited on something else: the scheduler, the gRPC connection or the agent's
    other work.
    """
    table = Table(
        "Decision time inside each agent over the whole drill (its histogram; estimates "
        "interpolated within buckets)",
        [
            "cell",
            "decisions",
            "p50 (ms)",
            "p99 (ms)",
            "slower than 100 ms",
            f"slower than the {authz_timeout * 1000:.0f} ms ext_authz timeout",
        ],
    )
    for cell, histogram in histograms.items():
        table.rows.append(
            [
                cell,
                int(histogram.count),
                histogram.quantile(0.5) * 1000,
                histogram.quantile(0.99) * 1000,
                _slower_than(histogram, 0.1),
                _slower_than(histogram, authz_timeout),
            ]
        )
    return table


def _slower_than(histogram: Histogram, seconds: float) -> int | str:
    for bound, cumulative in histogram.buckets:
        if bound == seconds:
            return int(histogram.count - cumulative)
    return "no bucket bound"
