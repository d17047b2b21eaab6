"""Drill 7: one cell's service goes down under load, then comes back.

The router assigns each user to one cell by a rendezvous hash of the user id over all
configured cells, whatever their health, and health-checks every cell's /healthz through
the cell's sidecar. Until the router takes the stopped cell out, after consecutive 5xx
(outlier detection) or failed health checks, whichever come first, its users get the
sidecar's error, because the sidecar cannot reach the service. From then on the router
returns 503 at once to that cell's users, with a JSON error naming the cell, and sends
them to no other cell, because no other cell contains their data.

The drill checks that no user of another cell had a failed request, that no user was
served by a cell other than their own, that the stopped cell's users got the router's 503
while the cell was out, and that the cell serves them again after its restart.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from components.sidecar.cell_assignment import cell_for_user
from components.sidecar.envoy_router import CELL_CLUSTER_PREFIX
from drills import harness, health_watch, load_phases, progress
from drills.result import DrillResult, Table
from loadgen import RequestResult, Target, start_constant_rate

NAME = "cell-down"
TITLE = "7. Cell down"

RETURN_TIMEOUT_SECONDS = 60
# User ids user-00000 to user-09999, over which the share of each cell's users is computed.
SHARE_SAMPLE_USERS = 10_000


def _user_of(url: str) -> str:
    # The user id rides in the query string, which the policy and the service ignore,
    # so that each recorded response can be traced to its user.
    return parse_qs(urlsplit(url).query)["user"][0]


def _is_router_unavailable(request: RequestResult, cell: str) -> bool:
    """Tell whether a response is the router's 503 for a cell it has taken out."""
    if request.status != 503:
        return False
    try:
        body = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("cell") == cell


def _panic_requests(admin_url: str) -> int | str:
    """Return the sum of the cell clusters' lb_healthy_panic counters, or "unknown"."""
    try:
        response = httpx.get(
            f"{admin_url}/stats?filter=lb_healthy_panic", timeout=2.0, trust_env=False
        )
    except httpx.HTTPError:
        return "unknown"
    counters = []
    for line in response.text.splitlines():
        name, _, value = line.partition(": ")
        if name.startswith(f"cluster.{CELL_CLUSTER_PREFIX}") and name.endswith(".lb_healthy_panic"):
            counters.append(int(value))
    return sum(counters) if counters else "unknown"


def _share_of_users(cell: str, cell_names: list[str]) -> float:
    users = (f"user-{number:05d}" for number in range(SHARE_SAMPLE_USERS))
    assigned = sum(1 for user in users if cell_for_user(user, cell_names) == cell)
    return 100 * assigned / SHARE_SAMPLE_USERS


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    rate = 60 if quick else 150
    before_seconds, down_seconds, after_seconds = (3, 8, 5) if quick else (10, 30, 20)
    with harness.running_region(NAME, run_dir) as region:
        target = region.cells[0]
        cell_names = [cell.name for cell in region.cells]
        users = harness.users_by_cell(region, per_cell=5 if quick else 10)
        home = {user: cell for cell, cell_users in users.items() for user in cell_users}
        token = harness.token_minter(region)("orders-web")
        targets = [
            Target(
                f"{region.router_url}/v1/orders?user={user}",
                headers={"authorization": f"Bearer {token}", "x-user-id": user},
            )
            for user in home
        ]
        total = before_seconds + down_seconds + after_seconds + RETURN_TIMEOUT_SECONDS
        progress.step(
            NAME, f"sending {rate} requests/s for {len(home)} users in {len(users)} cells"
        )
        with (
            health_watch.HealthWatcher(region) as watcher,
            start_constant_rate(targets, rate, total, timeout=2.0) as load,
        ):
            time.sleep(before_seconds)
            progress.step(NAME, f"stopping the service of {target.name} for {down_seconds} s")
            stopped = time.time()
            region.stop_service(target.name)
            time.sleep(down_seconds)
            progress.step(NAME, f"starting the service of {target.name} again")
            restarted = time.time()
            region.start_service(target.name)
            service_ready = time.time()
            harness.wait_for(
                lambda: region.router_health().get(target.name) is True,
                f"the router to serve {target.name} again",
                RETURN_TIMEOUT_SECONDS,
            )
            time.sleep(after_seconds)
            load.stop()
            measured = load.wait()
        panic_requests = _panic_requests(region.router_admin_url)

    failed_by_user: dict[str, int] = {}
    moved_users: set[str] = set()
    unavailable: list[RequestResult] = []
    first_served_again = None
    for request in measured.requests:
        user = _user_of(request.url)
        cell = request.header("x-cell")
        if request.status != 200:
            failed_by_user[user] = failed_by_user.get(user, 0) + 1
        if home[user] == target.name and _is_router_unavailable(request, target.name):
            unavailable.append(request)
        # A failed request carries no x-cell, so only a response from a service can show
        # that a user was sent to another cell.
        if cell is not None and cell != home[user]:
            moved_users.add(user)
        if (
            home[user] == target.name
            and request.start >= restarted
            and request.status == 200
            and (first_served_again is None or request.start < first_served_again)
        ):
            first_served_again = request.start

    affected = set(failed_by_user)
    target_users = {user for user, cell in home.items() if cell == target.name}
    other_failures = sorted(affected - target_users)
    table = Table(
        "Users by cell",
        ["cell", "users", "users with a failed request", "failed requests"],
    )
    for cell, cell_users in users.items():
        table.rows.append(
            [
                cell,
                len(cell_users),
                sum(1 for user in cell_users if user in affected),
                sum(failed_by_user.get(user, 0) for user in cell_users),
            ]
        )
    result.tables.append(table)
    result.tables.append(
        Table(
            "Cells taken out and put back by the router (seconds after the stop)",
            ["seconds", "cell", "change"],
            [
                [
                    round(change.time - stopped, 2),
                    change.cell,
                    "put back" if change.served else "taken out",
                ]
                for change in watcher.changes
            ],
        )
    )
    result.figure("requests sent", measured.count)
    result.figure("requests failed", sum(failed_by_user.values()))
    result.figure(
        "requests failed for users of other cells",
        sum(failed_by_user.get(user, 0) for user in home if home[user] != target.name),
    )
    result.figure("users served by a cell other than their own", len(moved_users))
    result.figure(
        f"share of users assigned to {target.name} (of {SHARE_SAMPLE_USERS} user ids)",
        round(_share_of_users(target.name, cell_names), 1),
        "%",
    )
    result.figure("drill users affected", f"{len(affected)} of {len(home)}")
    result.figure("share of drill users affected", round(100 * len(affected) / len(home), 1), "%")
    result.figure("times another cell was taken out", watcher.removals(exclude=target.name))
    # With a panic threshold of 0 the router never sends a user to a cell it took out.
    result.figure("requests the router sent in panic mode", panic_requests)
    taken_out = watcher.first_change(target.name, False, stopped)
    if taken_out is not None:
        result.figure(
            "router took the cell out, after the stop", round(taken_out - stopped, 2), "s"
        )
    result.figure("router 503 for the stopped cell's users", len(unavailable))
    if unavailable:
        first_unavailable = min(request.start for request in unavailable)
        latencies_ms = [1000 * request.latency for request in unavailable]
        result.figure(
            "first router 503 for its users, after the stop",
            round(first_unavailable - stopped, 2),
            "s",
        )
        result.figure("router 503 latency, median", round(statistics.median(latencies_ms), 1), "ms")
        result.figure("router 503 latency, max", round(max(latencies_ms), 1), "ms")
    failures = load_phases.failure_counts(measured.requests, 200)
    result.figure(
        "failures by kind",
        ", ".join(f"{count} x {kind}" for kind, count in failures.items()) or "none",
    )
    result.figure("service ready, after its restart", round(service_ready - restarted, 2), "s")
    put_back = watcher.first_change(target.name, True, restarted)
    if put_back is not None:
        result.figure(
            "router put the cell back, after its restart", round(put_back - restarted, 2), "s"
        )
    if first_served_again is not None:
        result.figure(
            "first 200 for its users, after its restart",
            round(first_served_again - restarted, 2),
            "s",
        )

    result.check(
        "no user of another cell had a failed request",
        not other_failures,
        ", ".join(other_failures[:10]) or f"{len(home) - len(target_users)} users, no failure",
    )
    result.check(
        "no user was served by a cell other than their own",
        not moved_users,
        ", ".join(sorted(moved_users)[:10]) or "every response came from the user's own cell",
    )
    result.check(
        "stopped cell's users got the router's 503 while it was out",
        bool(unavailable),
        f"{len(unavailable)} responses with the JSON error naming {target.name}"
        if unavailable
        else "no response named the cell as unavailable",
    )
    result.check(
        "cell served its users again after its restart",
        first_served_again is not None,
        "no request of its users got 200 after the restart"
        if first_served_again is None
        else f"{first_served_again - restarted:.2f} s after the restart",
    )
