"""Drill 7: one cell's service goes down under load, then comes back.

The router health-checks every cell's /healthz through its sidecar. Once a cell fails
its checks, the router rebuilds its ring without it, and that cell's users land on other
cells. Only the stopped cell's users may see errors, and only until the health checks
take the cell out. The drill also checks that users of the other cells keep their cell.

NOTE: Envoy's ring hash gives every remaining cell more ring entries when one leaves, so
some users move between two healthy cells. localregion.ring predicts 160 of 1318 such
users (user-0000 to user-1999) for the cells eu-1, us-1 and us-2 when eu-1 leaves, and
the drill lists the moves it observes.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from drills import harness, load_phases, progress, ring_watch
from drills.result import DrillResult, Table
from loadgen import Target, start_constant_rate

NAME = "cell-down"
TITLE = "7. Cell down"

RETURN_TIMEOUT_SECONDS = 60


def _user_of(url: str) -> str:
    # The user id rides in the query string, which the policy and the service ignore,
    # so that each recorded response can be traced to its user.
    return parse_qs(urlsplit(url).query)["user"][0]


def _panic_requests(admin_url: str) -> int | str:
    """Return the router's cluster.cells.lb_healthy_panic counter, or "unknown"."""
    try:
        response = httpx.get(
            f"{admin_url}/stats?filter=lb_healthy_panic", timeout=2.0, trust_env=False
        )
    except httpx.HTTPError:
        return "unknown"
    for line in response.text.splitlines():
        name, _, value = line.partition(": ")
        if name == "cluster.cells.lb_healthy_panic":
            return int(value)
    return "unknown"


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    rate = 60 if quick else 150
    before_seconds, down_seconds, after_seconds = (3, 8, 5) if quick else (10, 30, 20)
    with harness.running_region(NAME, run_dir) as region:
        target = region.cells[0]
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
            ring_watch.RingWatcher(region) as ring,
            start_constant_rate(targets, rate, total, timeout=2.0) as load,
        ):
            time.sleep(before_seconds)
            progress.step(NAME, f"stopping the service of {target.name} for {down_seconds} s")
            stopped = time.time()
            region.stop_service(target.name)
            time.sleep(down_seconds)
            progress.step(NAME, f"starting the service of {target.name} again")
            region.start_service(target.name)
            started = time.time()
            harness.wait_for(
                lambda: region.router_health().get(target.name) is True,
                f"the router to put {target.name} back in its ring",
                RETURN_TIMEOUT_SECONDS,
            )
            back_in_ring = time.time()
            time.sleep(after_seconds)
            load.stop()
            measured = load.wait()
        panic_requests = _panic_requests(region.router_admin_url)

    failed_by_user: dict[str, int] = {}
    moved_other_users: set[str] = set()
    last_failure = None
    first_home_again = None
    for request in measured.requests:
        user = _user_of(request.url)
        cell = request.header("x-cell")
        if request.status != 200:
            failed_by_user[user] = failed_by_user.get(user, 0) + 1
            if home[user] == target.name:
                last_failure = max(last_failure or 0, request.start)
        # A failed request carries no x-cell, so only a response from a service can show
        # that a user of another cell was moved.
        if home[user] != target.name and cell is not None and cell != home[user]:
            moved_other_users.add(user)
        if (
            home[user] == target.name
            and request.start >= started
            and cell == target.name
            and first_home_again is None
        ):
            first_home_again = request.start

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
            "Cells leaving and rejoining the router's ring (seconds after the stop)",
            ["seconds", "cell", "change"],
            [
                [
                    round(change.time - stopped, 2),
                    change.cell,
                    "rejoined" if change.on_ring else "left",
                ]
                for change in ring.changes
            ],
        )
    )
    result.figure("requests sent", measured.count)
    result.figure("times a healthy cell left the ring", ring.departures(exclude=target.name))
    # Envoy's default panic threshold is 50%: with fewer healthy cells, the router spreads
    # requests over every cell, the stopped one included.
    result.figure("requests the router sent in panic mode", panic_requests)
    result.figure("requests failed", sum(failed_by_user.values()))
    result.figure("users affected", f"{len(affected)} of {len(home)}")
    result.figure("share of users affected", round(100 * len(affected) / len(home), 1), "%")
    result.figure(
        "share of users in the stopped cell", round(100 * len(target_users) / len(home), 1), "%"
    )
    if last_failure is not None:
        result.figure(
            "last failure of the stopped cell's users, after the stop",
            round(last_failure - stopped, 2),
            "s",
        )
    failures = load_phases.failure_counts(measured.requests, 200)
    result.figure(
        "failures by kind",
        ", ".join(f"{count} x {kind}" for kind, count in failures.items()) or "none",
    )
    result.figure(
        "router put the cell back after its restart", round(back_in_ring - started, 2), "s"
    )
    if first_home_again is not None:
        result.figure(
            "first request served by the cell again, after its restart",
            round(first_home_again - started, 2),
            "s",
        )

    result.check(
        "no user of another cell had a failed request",
        not other_failures,
        ", ".join(other_failures[:10]) or f"{len(home) - len(target_users)} users, no failure",
    )
    result.check(
        "users of other cells stayed on their cell",
        not moved_other_users,
        ", ".join(sorted(moved_other_users)[:10]) or "every response from the user's own cell",
    )
    result.check(
        "stopped cell's users were served again before it came back",
        last_failure is None or last_failure < started,
        "none of its users had a failed request"
        if last_failure is None
        else f"last failure {last_failure - stopped:.2f} s after the stop, "
        f"restart at {started - stopped:.2f} s",
    )
    result.check(
        "cell served its users again after its restart",
        first_home_again is not None,
        "no request of its users reached it after the restart"
        if first_home_again is None
        else f"{first_home_again - started:.2f} s after the restart",
    )
