"""A fixed set of requests whose decisions a drill compares before, during and after a fault.

A decision here is what the client receives: the status and, when the policy decided, the rule
that decided (x-authz-reason). "No decision changed" means every probe got the same pair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from drills import http_probe

# Callers of the local region's bundle data (localregion.policy_data), chosen so that the
# set covers every deciding rule: allowed, default-deny, revoked, residency, missing token.
PROBED_CALLERS = ("orders-web", "billing", "support", "legacy-batch")
PROBED_REQUESTS = (
    ("GET", "/v1/orders"),
    ("GET", "/v1/invoices"),
    ("GET", "/v1/profiles/probe-user"),
    ("DELETE", "/v1/orders/999999"),
)


@dataclass(frozen=True)
class Probe:
    """One request of the decision set, sent to a given user (and so to that user's cell)."""

    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Decision:
    status: int
    reason: str | None

    def __str__(self) -> str:
        return f"{self.status} {self.reason or '-'}"


def decision_probes(
    users: Sequence[str],
    token: Callable[[str], str],
) -> list[Probe]:
    """Build the probe set: every probed caller and request, plus residency and no token.

    users should hold one user per cell, so that every cell's agent is asked.
    """
    probes = []
    for user in users:
        for method, path in PROBED_REQUESTS:
            for caller in PROBED_CALLERS:
                probes.append(
                    Probe(
                        f"{user} {caller} {method} {path}",
                        method,
                        path,
                        (("x-user-id", user), ("authorization", f"Bearer {token(caller)}")),
                    )
                )
            probes.append(
                Probe(f"{user} no-token {method} {path}", method, path, (("x-user-id", user),))
            )
        probes.append(
            Probe(
                f"{user} orders-web GET /v1/orders eu-resident",
                "GET",
                "/v1/orders",
                (
                    ("x-user-id", user),
                    ("authorization", f"Bearer {token('orders-web')}"),
                    ("x-data-residency", "eu"),
                ),
            )
        )
    return probes


def take_decisions(port: int, probes: Sequence[Probe]) -> dict[str, Decision]:
    """Send every probe to 127.0.0.1:port and return its decision by probe name."""
    decisions = {}
    for probe in probes:
        response = http_probe.send(port, probe.method, probe.path, probe.headers)
        decisions[probe.name] = Decision(response.status, response.reason)
    return decisions


def take_cell_decisions(
    sidecars: Mapping[str, int], probes: Sequence[Probe]
) -> dict[str, Decision]:
    """Send every probe to each cell's sidecar; return decisions keyed "CELL PROBE".

    Asking each sidecar directly compares the agents' decisions alone. Through the router,
    a cell that fails a health check hands its users to another cell, whose jurisdiction
    can decide a residency probe differently.
    """
    decisions = {}
    for cell, port in sidecars.items():
        for name, decision in take_decisions(port, probes).items():
            decisions[f"{cell} {name}"] = decision
    return decisions


def changed_decisions(before: Mapping[str, Decision], after: Mapping[str, Decision]) -> list[str]:
    """Return one line per probe whose decision differs, e.g. "u1 billing GET /v1/x: 403 -> 200"."""
    changes = []
    for name, decision in before.items():
        other = after.get(name)
        if other != decision:
            changes.append(f"{name}: {decision} -> {other}")
    return changes


def allowed_count(decisions: Mapping[str, Decision]) -> int:
    """Return how many probes reached the service (a status below 400)."""
    return sum(1 for decision in decisions.values() if 0 < decision.status < 400)
