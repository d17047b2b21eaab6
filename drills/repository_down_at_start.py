"""Drill 2: an agent restarts while the bundle repository is down.

With `persist: true`, OPA writes each activated bundle to its persistence directory and
loads it at start, verifying its signature with the configured key as it does for a
download. So a restarted agent serves its last known good bundle without the repository,
and must decide exactly as before.
"""

from __future__ import annotations

import time
from pathlib import Path

from drills import agent_status, decisions, harness, persisted_bundle, progress
from drills.result import DrillResult, Table

NAME = "repository-down-at-start"
TITLE = "2. Repository down at agent start"


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    with harness.running_region(NAME, run_dir) as region:
        cell = region.cells[0]
        users = harness.users_by_cell(region, per_cell=1)
        token = harness.token_minter(region)
        probes = decisions.decision_probes([u[0] for u in users.values()], token)
        router = harness.router_port(region)
        sidecar = harness.sidecar_port(region, cell.name)
        revision = region.active_revision(cell.name)
        before_router = decisions.take_decisions(router, probes)
        before_sidecar = decisions.take_decisions(sidecar, probes)
        bundle_file = persisted_bundle.persisted_bundle_path(cell, region.bundle_name)

        progress.step(NAME, f"stopping the bundle repository, then the agent of {cell.name}")
        region.stop_repository()
        region.stop_agent(cell.name)
        while_down = decisions.take_decisions(sidecar, probes)

        progress.step(NAME, f"starting the agent of {cell.name} with the repository down")
        started = time.monotonic()
        region.start_agent(cell.name)
        ready_seconds = time.monotonic() - started
        status = agent_status.bundle_status(cell.agent_url, region.bundle_name)
        restarted_revision = region.active_revision(cell.name)
        harness.wait_for_cell_on_ring(region, cell.name)
        after_router = decisions.take_decisions(router, probes)
        after_sidecar = decisions.take_decisions(sidecar, probes)

        progress.step(NAME, "starting the bundle repository again")
        region.start_repository()
        harness.wait_for(
            lambda: (
                not getattr(
                    agent_status.bundle_status(cell.agent_url, region.bundle_name), "failing", True
                )
            ),
            f"the agent of {cell.name} to fetch from the repository again",
            timeout=30,
        )
        recovered = agent_status.bundle_status(cell.agent_url, region.bundle_name)
        members = persisted_bundle.bundle_members(bundle_file)
        key_id = persisted_bundle.signing_key_id(cell, region.bundle_name)

    result.figure("agent ready after restart, repository down", round(ready_seconds, 2), "s")
    result.figure("active revision before restart", revision)
    result.figure("active revision after restart", restarted_revision)
    result.figure("decision probes", len(probes))
    result.tables.append(
        Table(
            f"Status of the agent of {cell.name}",
            ["moment", "bundle status"],
            [
                ["after restart, repository down", status.describe() if status else "no status"],
                ["repository back", recovered.describe() if recovered else "no status"],
            ],
        )
    )

    result.check(
        "restarted agent activated the persisted revision",
        restarted_revision == revision,
        f"{restarted_revision} after restart, {revision} before",
    )
    result.check(
        "persisted bundle is signed and the agent requires the signature",
        ".signatures.json" in members and key_id is not None,
        f"files {sorted(members)}; signing.keyid {key_id!r}",
    )
    result.check(
        "agent saw the repository down after restart",
        status is not None and status.failing,
        status.describe() if status else "no status",
    )
    router_changes = decisions.changed_decisions(before_router, after_router)
    sidecar_changes = decisions.changed_decisions(before_sidecar, after_sidecar)
    result.check(
        "same decisions through the router after restart",
        not router_changes,
        "; ".join(router_changes[:5]) or f"{len(probes)} probes identical",
    )
    result.check(
        f"same decisions at the sidecar of {cell.name} after restart",
        not sidecar_changes,
        "; ".join(sidecar_changes[:5]) or f"{len(probes)} probes identical",
    )
    allowed_while_down = decisions.allowed_count(while_down)
    result.check(
        f"sidecar of {cell.name} served nothing while its agent was stopped",
        allowed_while_down == 0,
        f"{allowed_while_down} of {len(probes)} probes reached the service",
    )
