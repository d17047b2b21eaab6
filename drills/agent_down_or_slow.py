"""Drill 6: one cell's agent is stopped, then paused so it responds after the sidecar's timeout.

The agent is paused with SIGSTOP rather than slowed by a delaying proxy. The kernel keeps
its sockets open, so the sidecar's gRPC call is accepted and sent but gets no response,
as with an agent slower than the timeout. And the sidecar keeps the configuration that
ships, which a proxy in the path would change. SIGCONT resumes the agent. The sidecar
must deny (fail closed) within its ext_authz timeout, the other cells must not notice,
and the cell must serve again once its agent does.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from drills import decisions, harness, http_probe, progress
from drills.result import DrillResult, Table
from drills.sidecar_config import ext_authz_timeout_seconds

NAME = "agent-down-or-slow"
TITLE = "6. Agent down or slow"

RECOVERY_TIMEOUT_SECONDS = 60
# Headroom over the ext_authz timeout for Envoy to build and send the 403 on a loaded machine.
DENY_LATENCY_MARGIN_SECONDS = 0.1


def _sample(port: int, probes, seconds: float):
    """Send the probes repeatedly for seconds; return (latencies, served count, statuses)."""
    latencies, served, statuses = [], 0, set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for probe in probes:
            response = http_probe.send(port, probe.method, probe.path, probe.headers)
            latencies.append(response.latency)
            statuses.add(response.status)
            if response.cell is not None or 0 < response.status < 400:
                served += 1
    return latencies, served, statuses


def _other_cells_view(region, port: int, users: dict[str, list[str]], target: str, token):
    """Return {user: (status, cell)} through the router for users of every cell but target."""
    view = {}
    for cell, cell_users in users.items():
        if cell == target:
            continue
        for user in cell_users:
            response = http_probe.send(
                port,
                "GET",
                "/v1/orders",
                [("x-user-id", user), ("authorization", f"Bearer {token('orders-web')}")],
            )
            view[user] = (response.status, response.cell)
    return view


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    fault_seconds = 5 if quick else 20
    with harness.running_region(NAME, run_dir) as region:
        target = region.cells[0]
        timeout = ext_authz_timeout_seconds(target.directory / "sidecar.yaml")
        users = harness.users_by_cell(region, per_cell=3)
        token = harness.token_minter(region)
        router = harness.router_port(region)
        sidecar = target.ports.sidecar
        probes = decisions.decision_probes(["probe"], token)
        baseline = decisions.take_decisions(sidecar, probes)
        others_before = _other_cells_view(region, router, users, target.name, token)

        table = Table(
            f"Sidecar of {target.name} while its agent is faulty",
            ["fault", "requests", "served", "statuses", "p50 (ms)", "max (ms)", "recovery (s)"],
        )
        served_during, slow_denials, others_changed = [], [], []

        progress.step(NAME, f"stopping the agent of {target.name} for {fault_seconds} s")
        region.stop_agent(target.name)
        latencies, served, statuses = _sample(sidecar, probes, fault_seconds)
        others_during_stop = _other_cells_view(region, router, users, target.name, token)
        restarted = time.monotonic()
        region.start_agent(target.name)
        harness.wait_for(
            lambda: decisions.take_decisions(sidecar, probes) == baseline,
            f"the sidecar of {target.name} to decide as before",
            RECOVERY_TIMEOUT_SECONDS,
        )
        recovery = time.monotonic() - restarted
        _record(table, "agent stopped", latencies, served, statuses, recovery)
        served_during += [f"agent stopped: {served}"] if served else []
        if max(latencies) > timeout + DENY_LATENCY_MARGIN_SECONDS:
            slow_denials.append(f"agent stopped: {max(latencies) * 1000:.0f} ms")
        if others_during_stop != others_before:
            others_changed.append("agent stopped")

        pid = region.supervisor.get(target.process_name("agent")).pid
        progress.step(NAME, f"pausing the agent of {target.name} (SIGSTOP) for {fault_seconds} s")
        os.killpg(pid, signal.SIGSTOP)
        try:
            latencies, served, statuses = _sample(sidecar, probes, fault_seconds)
            others_during_pause = _other_cells_view(region, router, users, target.name, token)
        finally:
            os.killpg(pid, signal.SIGCONT)
        resumed = time.monotonic()
        harness.wait_for(
            lambda: decisions.take_decisions(sidecar, probes) == baseline,
            f"the sidecar of {target.name} to decide as before",
            RECOVERY_TIMEOUT_SECONDS,
        )
        recovery = time.monotonic() - resumed
        _record(
            table, "agent paused (slower than the timeout)", latencies, served, statuses, recovery
        )
        served_during += [f"agent paused: {served}"] if served else []
        if max(latencies) > timeout + DENY_LATENCY_MARGIN_SECONDS:
            slow_denials.append(f"agent paused: {max(latencies) * 1000:.0f} ms")
        if min(latencies) < timeout * 0.9:
            result.notes.append(
                f"Some denials while paused came before the {timeout * 1000:.0f} ms timeout "
                f"(min {min(latencies) * 1000:.0f} ms)."
            )
        if others_during_pause != others_before:
            others_changed.append("agent paused")
        others_after = _other_cells_view(region, router, users, target.name, token)
        if others_after != others_before:
            others_changed.append("after recovery")

    result.tables.append(table)
    result.figure("ext_authz timeout of the sidecar", round(timeout * 1000), "ms")
    result.figure("each fault lasted", fault_seconds, "s")
    result.figure("users of other cells checked", len(others_before))
    result.check(
        f"sidecar of {target.name} served nothing while its agent was faulty",
        not served_during,
        "; ".join(served_during) or "every request denied",
    )
    result.check(
        "other cells' users kept their cell and their answers",
        not others_changed,
        "changed: " + ", ".join(others_changed)
        if others_changed
        else f"{len(others_before)} users, same status and cell throughout",
    )
    result.check(
        f"sidecar denied within the {timeout * 1000:.0f} ms timeout",
        not slow_denials,
        "; ".join(slow_denials) or f"every denial within {timeout * 1000:.0f} ms + 100 ms",
        safety=False,
    )


def _record(table: Table, fault: str, latencies, served, statuses, recovery) -> None:
    ordered = sorted(latencies)
    table.rows.append(
        [
            fault,
            len(latencies),
            served,
            ", ".join(str(status) for status in sorted(statuses)),
            ordered[len(ordered) // 2] * 1000,
            ordered[-1] * 1000,
            round(recovery, 2),
        ]
    )
