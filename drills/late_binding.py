"""Drill 3: late binding. A published bundle revokes a caller; every agent enforces it.

Agents poll the repository every polling.min_delay_seconds to max_delay_seconds (OPA
picks a random delay in that range), download the new revision, verify it and activate
it in place, without a restart. The drill publishes a revision that flips one caller
between revoked and allowed, and times from the upload until each cell's sidecar returns
the new decision.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from drills import harness, http_probe, progress, repository_log
from drills.result import DrillResult, Table

NAME = "late-binding"
TITLE = "3. Late binding: publish to enforcement"

POLLING_MIN_DELAY_SECONDS = 1
POLLING_MAX_DELAY_SECONDS = 2
FLIPPED_CALLER = "billing"
# A round that takes longer than this failed: the revision did not reach every agent.
ROUND_TIMEOUT_SECONDS = 60
# "A few seconds": the slowest agent must enforce within this many seconds of the upload.
MAX_PROPAGATION_SECONDS = 5.0


def _revoked_decision(port: int, user: str, token: str) -> bool | None:
    """Return True when the sidecar denies the flipped caller as revoked, False when it serves."""
    response = http_probe.send(
        port,
        "GET",
        "/v1/invoices",
        [("x-user-id", user), ("authorization", f"Bearer {token}")],
        timeout=2.0,
    )
    if response.reason == "revoked":
        return True
    if response.status == 200:
        return False
    return None


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    rounds = 2 if quick else 10
    rate_window_seconds = 10 if quick else 60
    with harness.running_region(
        NAME,
        run_dir,
        polling_min_delay_seconds=POLLING_MIN_DELAY_SECONDS,
        polling_max_delay_seconds=POLLING_MAX_DELAY_SECONDS,
    ) as region:
        token = harness.token_minter(region)(FLIPPED_CALLER)
        sidecars = {cell.name: cell.ports.sidecar for cell in region.cells}
        agent_pids = {
            cell.name: region.supervisor.get(cell.process_name("agent")).pid
            for cell in region.cells
        }
        revoked_base = [c for c in region.data["revoked"] if c != FLIPPED_CALLER]

        table = Table(
            "Seconds from upload to enforcement, per round",
            ["round", "change", "revision", *sidecars, "every agent"],
        )
        every_agent: list[float] = []
        per_agent: list[float] = []
        timed_out: list[str] = []
        for number in range(1, rounds + 1):
            revoke = number % 2 == 1
            change = f"{'revoke' if revoke else 'restore'} {FLIPPED_CALLER}"
            revoked = [*revoked_base, FLIPPED_CALLER] if revoke else revoked_base
            progress.step(NAME, f"round {number}/{rounds}: publishing a revision to {change}")
            revision = region.publish({"revoked": revoked}, wait=False)
            uploaded = time.monotonic()
            enforced_at: dict[str, float] = {}
            while len(enforced_at) < len(sidecars):
                now = time.monotonic()
                if now - uploaded > ROUND_TIMEOUT_SECONDS:
                    missing = sorted(set(sidecars) - set(enforced_at))
                    timed_out.append(f"round {number}: {', '.join(missing)}")
                    break
                for cell, port in sidecars.items():
                    if (
                        cell not in enforced_at
                        and _revoked_decision(port, "probe", token) is revoke
                    ):
                        enforced_at[cell] = time.monotonic() - uploaded
                time.sleep(0.01)
            if len(enforced_at) == len(sidecars):
                every_agent.append(max(enforced_at.values()))
                per_agent.extend(enforced_at.values())
            table.rows.append(
                [
                    number,
                    change,
                    revision,
                    *(enforced_at.get(cell, "timeout") for cell in sidecars),
                    max(enforced_at.values()) if len(enforced_at) == len(sidecars) else "timeout",
                ]
            )
            # The next round starts from a state every agent has activated.
            region.wait_for_revision(revision, timeout_seconds=ROUND_TIMEOUT_SECONDS)

        progress.step(NAME, f"counting repository requests for {rate_window_seconds} s")
        counter = repository_log.RequestCounter(
            region.supervisor.get("repository").log_path,
            f"bundles/{region.bundle_name}/current/bundle.tar.gz",
        )
        counter.start()
        time.sleep(rate_window_seconds)
        by_status = counter.count_by_status()
        requests_in_window = sum(by_status.values())
        restarted = [
            cell.name
            for cell in region.cells
            if region.supervisor.get(cell.process_name("agent")).pid != agent_pids[cell.name]
        ]
        agents = len(region.cells)

    result.tables.append(table)
    result.figure("rounds", rounds)
    result.figure(
        "polling delay", f"{POLLING_MIN_DELAY_SECONDS} to {POLLING_MAX_DELAY_SECONDS}", "s"
    )
    if every_agent:
        result.figure("every agent enforcing, min", round(min(every_agent), 2), "s")
        result.figure(
            "every agent enforcing, median", round(statistics.median(every_agent), 2), "s"
        )
        result.figure("every agent enforcing, max", round(max(every_agent), 2), "s")
        result.figure("one agent enforcing, median", round(statistics.median(per_agent), 2), "s")
    per_minute = requests_in_window * 60 / rate_window_seconds
    result.figure("repository requests, all agents", round(per_minute, 1), "per minute")
    result.figure("repository requests per agent", round(per_minute / agents, 1), "per minute")
    # OPA sends the ETag of its active bundle, so an unchanged bundle costs a 304 and no body.
    result.figure(
        "repository responses in the window",
        ", ".join(f"{count} x {status}" for status, count in sorted(by_status.items())) or "none",
    )
    result.figure(
        "expected per agent from the polling delay",
        round(60 / ((POLLING_MIN_DELAY_SECONDS + POLLING_MAX_DELAY_SECONDS) / 2), 1),
        "per minute",
    )

    result.check(
        "every agent enforced every revision",
        not timed_out,
        "; ".join(timed_out) or f"{rounds} rounds, {agents} agents",
    )
    result.check(
        "no agent was restarted",
        not restarted,
        ", ".join(restarted) or f"{agents} agent process ids unchanged",
    )
    result.check(
        "repository requests were counted",
        requests_in_window > 0,
        f"{requests_in_window} GETs of the current bundle in {rate_window_seconds} s",
    )
    if every_agent:
        result.check(
            f"slowest agent enforced within {MAX_PROPAGATION_SECONDS:.0f} s",
            max(every_agent) <= MAX_PROPAGATION_SECONDS,
            f"max {max(every_agent):.2f} s",
            safety=False,
        )
