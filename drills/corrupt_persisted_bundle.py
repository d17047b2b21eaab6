"""Drill 5: an agent starts with a corrupt persisted bundle.

OPA (v1.22.4, plugins/bundle) verifies a persisted bundle's signature when it loads it
at start, as it does for a download, and skips a bundle that fails to load. With the
repository up, the agent then downloads a good bundle. With the repository down, it has
no policy, so its ext_authz server returns Unavailable and the sidecar denies every
request. The drill checks that the agent never serves from a bundle it could not verify.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from drills import (
    agent_status,
    bundle_tampering,
    decisions,
    harness,
    persisted_bundle,
    progress,
)
from drills.result import DrillResult, Table
from drills.tampered_bundle import grant_forbidden

NAME = "corrupt-persisted-bundle"
TITLE = "5. Corrupt persisted bundle"

RECOVERY_TIMEOUT_SECONDS = 60
DISK_LOAD_ERROR = "Failed to load bundle from disk"


@dataclass(frozen=True)
class Corruption:
    name: str
    repository_up: bool


CORRUPTIONS = (
    Corruption("truncated archive", repository_up=True),
    Corruption("data changed, signature kept", repository_up=True),
    Corruption("truncated archive", repository_up=False),
    Corruption("data changed, signature kept", repository_up=False),
)


def corrupt(path: Path, corruption: str) -> None:
    original = path.read_bytes()
    if corruption == "truncated archive":
        path.write_bytes(original[: len(original) // 2])
    else:
        path.write_bytes(bundle_tampering.rewrite_bundle(original, grant_forbidden))


def _disk_load_error(agent_log: Path, offset: int) -> str | None:
    """Return the agent's first "Failed to load bundle from disk" message after offset.

    OPA (v1.22.4, plugins/bundle) logs this error when the persisted bundle does not
    read or verify, and then starts without it.
    """
    with agent_log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("msg", "") if isinstance(entry, dict) else ""
        if message.startswith(DISK_LOAD_ERROR):
            return message[:200]
    return None


def bundles_healthy(agent_url: str) -> bool:
    try:
        response = httpx.get(f"{agent_url}/health?bundles", timeout=1.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    refusal_window_seconds = 5 if quick else 15
    with harness.running_region(NAME, run_dir) as region:
        cell = region.cells[0]
        sidecar = harness.sidecar_port(region, cell.name)
        token = harness.token_minter(region)
        probes = decisions.decision_probes(["probe"], token)
        baseline = decisions.take_decisions(sidecar, probes)
        bundle_file = persisted_bundle.persisted_bundle_path(cell, region.bundle_name)
        table = Table(
            f"Agent of {cell.name} started on a corrupt persisted bundle",
            [
                "corruption",
                "repository",
                "outcome",
                "probes served while refusing",
                "seconds to serve",
                "bundle status at start",
                "agent log at start",
            ],
        )
        allowed_while_refusing, wrong_outcome, changed_after, unreported = [], [], [], []
        for corruption in CORRUPTIONS:
            label = f"{corruption.name}, repository {'up' if corruption.repository_up else 'down'}"
            progress.step(NAME, f"restarting the agent of {cell.name}: {label}")
            region.stop_agent(cell.name)
            agent_log = region.supervisor.get(cell.process_name("agent")).log_path
            log_offset = agent_log.stat().st_size
            corrupt(bundle_file, corruption.name)
            if not corruption.repository_up:
                region.stop_repository()
            started = time.monotonic()
            # NOTE: LocalRegion.start_agent waits until the agent is ready, which an agent
            # without a bundle never is. This private call starts it without that wait.
            region._start_agent(cell)
            served_while_refusing = 0
            first_status = None
            if corruption.repository_up:
                outcome = "downloaded a good bundle"
            else:
                deadline = started + refusal_window_seconds
                healthy_seen = False
                while time.monotonic() < deadline:
                    snapshot = decisions.take_decisions(sidecar, probes)
                    served_while_refusing += decisions.allowed_count(snapshot)
                    healthy_seen = healthy_seen or bundles_healthy(cell.agent_url)
                    first_status = first_status or agent_status.bundle_status(
                        cell.agent_url, region.bundle_name
                    )
                    time.sleep(0.2)
                outcome = "served without a bundle" if healthy_seen else "refused to serve"
                if served_while_refusing or healthy_seen:
                    allowed_while_refusing.append(f"{label}: {served_while_refusing} served")
                region.start_repository()
            harness.wait_for(
                lambda: (
                    bundles_healthy(cell.agent_url)
                    and region.active_revision(cell.name) == region.revision
                ),
                f"the agent of {cell.name} to activate revision {region.revision}",
                timeout=RECOVERY_TIMEOUT_SECONDS,
            )
            serving_seconds = time.monotonic() - started
            first_status = first_status or agent_status.bundle_status(
                cell.agent_url, region.bundle_name
            )
            after = decisions.take_decisions(sidecar, probes)
            changes = decisions.changed_decisions(baseline, after)
            if changes:
                changed_after.append(f"{label}: {'; '.join(changes[:3])}")
            disk_error = _disk_load_error(agent_log, log_offset)
            if disk_error is None:
                unreported.append(label)
            members = bundle_tampering.member_names(bundle_file.read_bytes())
            if ".manifest" not in members:
                wrong_outcome.append(f"{label}: persisted bundle not replaced")
            table.rows.append(
                [
                    corruption.name,
                    "up" if corruption.repository_up else "down",
                    outcome,
                    served_while_refusing,
                    round(serving_seconds, 2),
                    first_status.describe() if first_status else "no status",
                    disk_error or "no error logged",
                ]
            )

    result.tables.append(table)
    result.figure("agent restarts on a corrupt bundle", len(CORRUPTIONS))
    result.figure("refusal window with the repository down", refusal_window_seconds, "s")
    result.check(
        "agent without a verified bundle served nothing",
        not allowed_while_refusing,
        "; ".join(allowed_while_refusing) or "every probe denied while the repository was down",
    )
    result.check(
        "agent rejected every corrupt persisted bundle at start",
        not unreported,
        "no load error logged after: " + "; ".join(unreported)
        if unreported
        else f"{len(CORRUPTIONS)} of {len(CORRUPTIONS)} load errors logged",
    )
    result.check(
        "agent recovered to the published revision with the same decisions",
        not changed_after,
        "; ".join(changed_after) or f"{len(probes)} probes identical after each recovery",
    )
    result.check(
        "agent replaced the corrupt persisted bundle",
        not wrong_outcome,
        "; ".join(wrong_outcome) or "a readable bundle is persisted after each recovery",
    )
