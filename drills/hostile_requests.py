"""Drill 8: hostile requests at the edge.

Sends inputs that try to get past a deny: broken and forged tokens, path spellings that a
server behind the sidecar could resolve to another route, oversized headers. Each input
goes through the router exactly as written and has one expected status. The safety
property: no input that should be denied reaches a cell's service. The service names its
cell in x-cell, so a response with x-cell proves the request got past the sidecar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drills import harness, hostile_tokens, http_probe, progress
from drills.result import DrillResult, Table
from localregion.governance import ISSUER_KEY
from wasm.keys import key_pair_paths

NAME = "hostile-requests"
TITLE = "8. Hostile requests at the edge"

# Envoy's defaults (not changed by the generated configuration): request headers are at
# most 60 KiB in total and at most 100 in number, else Envoy returns 431.
OVERSIZED_HEADER_BYTES = 80 * 1024
TOO_MANY_HEADERS = 120


@dataclass(frozen=True)
class HostileCase:
    """One input and the status it must get. served: whether the service may see it."""

    name: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    expected_status: int
    served: bool = False


def build_cases(
    token: Callable[..., str],
    issuer_public_key_pem: bytes,
    eu_user: str,
    us_user: str,
) -> list[HostileCase]:
    """Return the hostile inputs. token(caller, **options) mints a token of the region."""
    orders_web = token("orders-web")
    billing = token("billing")

    def as_caller(user: str, authorization: str, *extra: tuple[str, str]):
        return (("x-user-id", user), ("authorization", authorization), *extra)

    def bearer(value: str, *extra: tuple[str, str]):
        return as_caller(eu_user, f"Bearer {value}", *extra)

    anonymous = (("x-user-id", eu_user),)
    cases = [
        # Controls: requests that must be served, so the drill can tell a deny from an outage.
        HostileCase(
            "allowed request (control)", "GET", "/v1/orders", bearer(orders_web), 200, True
        ),
        HostileCase(
            "EU data in an EU cell (control)",
            "GET",
            "/v1/orders",
            bearer(orders_web, ("x-data-residency", "eu")),
            200,
            True,
        ),
        HostileCase(
            "query string with dot segments on an allowed path",
            "GET",
            "/v1/orders?next=/../invoices",
            bearer(orders_web),
            200,
            True,
        ),
        HostileCase("health probe with a query", "GET", "/healthz?verbose=1", anonymous, 200, True),
        # Tokens.
        HostileCase("missing token", "GET", "/v1/orders", anonymous, 401),
        HostileCase("malformed token", "GET", "/v1/orders", bearer("not-a-jwt"), 401),
        HostileCase("token of two segments", "GET", "/v1/orders", bearer("e30.e30"), 401),
        HostileCase(
            "basic scheme", "GET", "/v1/orders", as_caller(eu_user, "Basic b3JkZXJzOndlYg=="), 401
        ),
        HostileCase("scheme without token", "GET", "/v1/orders", as_caller(eu_user, "Bearer"), 401),
        HostileCase(
            "expired token", "GET", "/v1/orders", bearer(token("orders-web", ttl_seconds=-60)), 401
        ),
        HostileCase(
            "token signed by an unknown key",
            "GET",
            "/v1/orders",
            bearer(token("orders-web", trusted=False)),
            401,
        ),
        HostileCase(
            "token for another audience",
            "GET",
            "/v1/orders",
            bearer(token("orders-web", audience="another-service")),
            401,
        ),
        HostileCase(
            "unsigned token (alg none)",
            "GET",
            "/v1/orders",
            bearer(hostile_tokens.unsigned(orders_web)),
            401,
        ),
        HostileCase(
            "HS256 token keyed with the issuer's public key",
            "GET",
            "/v1/orders",
            bearer(hostile_tokens.hmac_with_public_key(orders_web, issuer_public_key_pem)),
            401,
        ),
        HostileCase(
            "billing claims under an orders-web signature",
            "GET",
            "/v1/invoices",
            bearer(hostile_tokens.swapped_claims(orders_web, billing)),
            401,
        ),
        HostileCase(
            "two authorization headers",
            "GET",
            "/v1/invoices",
            (*bearer(orders_web), ("authorization", f"Bearer {billing}")),
            401,
        ),
        # Callers, methods, residency.
        HostileCase("revoked caller", "GET", "/v1/orders", bearer(token("legacy-batch")), 403),
        HostileCase("route of another caller", "GET", "/v1/invoices", bearer(orders_web), 403),
        HostileCase("method the route lacks", "DELETE", "/v1/orders/1", bearer(billing), 403),
        HostileCase(
            "spoofed x-authz-caller header",
            "GET",
            "/v1/invoices",
            bearer(orders_web, ("x-authz-caller", "billing")),
            403,
        ),
        HostileCase(
            "EU data in a US cell",
            "GET",
            "/v1/orders",
            as_caller(us_user, f"Bearer {orders_web}", ("x-data-residency", "eu")),
            403,
        ),
        HostileCase(
            "unknown residency tag",
            "GET",
            "/v1/orders",
            bearer(orders_web, ("x-data-residency", "mars")),
            403,
        ),
        # Paths: orders-web may use /v1/orders only, and every trick aims at /v1/invoices.
        HostileCase("dot-dot segment", "GET", "/v1/orders/../invoices", bearer(orders_web), 400),
        HostileCase(
            "dot and dot-dot segments", "GET", "/v1/orders/./../invoices", bearer(orders_web), 400
        ),
        HostileCase(
            "percent-encoded dots", "GET", "/v1/orders/%2e%2e/invoices", bearer(orders_web), 400
        ),
        HostileCase(
            "double-encoded dots", "GET", "/v1/orders/%252e%252e/invoices", bearer(orders_web), 400
        ),
        HostileCase(
            "encoded slashes", "GET", "/v1/orders%2F..%2Finvoices", bearer(orders_web), 400
        ),
        HostileCase(
            "lower-case encoded slash", "GET", "/v1/orders%2finvoices", bearer(orders_web), 400
        ),
        HostileCase("duplicate leading slash", "GET", "//v1/invoices", bearer(orders_web), 400),
        HostileCase("duplicate inner slash", "GET", "/v1//invoices", bearer(orders_web), 400),
        HostileCase("trailing slash", "GET", "/v1/orders/", bearer(orders_web), 400),
        HostileCase(
            "path parameter before dot-dot",
            "GET",
            "/v1/orders;/../invoices",
            bearer(orders_web),
            400,
        ),
        HostileCase(
            "backslash segments", "GET", "/v1/orders\\..\\invoices", bearer(orders_web), 400
        ),
        HostileCase(
            "encoded NUL byte", "GET", "/v1/orders%00/../invoices", bearer(orders_web), 400
        ),
        HostileCase(
            "fragment in the path", "GET", "/v1/orders#/../invoices", bearer(orders_web), 400
        ),
        HostileCase("upper-case path", "GET", "/V1/INVOICES", bearer(orders_web), 403),
        HostileCase("mixed-case allowed prefix", "GET", "/V1/Orders", bearer(orders_web), 403),
        HostileCase(
            "allowed prefix without a segment boundary",
            "GET",
            "/v1/orders-archive",
            bearer(orders_web),
            403,
        ),
        HostileCase(
            "allowed path in the query string",
            "GET",
            "/v1/invoices?next=/v1/orders",
            bearer(orders_web),
            403,
        ),
        HostileCase(
            "absolute-form request target",
            "GET",
            "http://127.0.0.1/v1/invoices",
            bearer(orders_web),
            403,
        ),
        HostileCase(
            "health path as a dot-dot base", "GET", "/healthz/../v1/invoices", anonymous, 400
        ),
        HostileCase("below the health path", "GET", "/healthz/v1/invoices", anonymous, 401),
        HostileCase("POST to the health path", "POST", "/healthz", anonymous, 401),
        HostileCase("lower-case method", "get", "/v1/invoices", bearer(orders_web), 400),
        # Sizes.
        HostileCase(
            "oversized header",
            "GET",
            "/v1/invoices",
            bearer(orders_web, ("x-padding", "a" * OVERSIZED_HEADER_BYTES)),
            431,
        ),
        HostileCase(
            "oversized authorization header",
            "GET",
            "/v1/invoices",
            as_caller(eu_user, "Bearer " + "a" * OVERSIZED_HEADER_BYTES),
            431,
        ),
        HostileCase(
            "too many headers",
            "GET",
            "/v1/invoices",
            bearer(orders_web, *((f"x-extra-{i}", "1") for i in range(TOO_MANY_HEADERS))),
            431,
        ),
    ]
    return cases


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    """Send every hostile input through the router and record what came back."""
    with harness.running_region(NAME, run_dir) as region:
        users = harness.users_by_cell(region, per_cell=1)
        eu_user = next(users[cell.name][0] for cell in region.cells if cell.jurisdiction == "eu")
        us_user = next(users[cell.name][0] for cell in region.cells if cell.jurisdiction != "eu")
        issuer_key = key_pair_paths(region.governance.key_dir, ISSUER_KEY).public_key
        cases = build_cases(region.token, issuer_key.read_bytes(), eu_user, us_user)

        progress.step(NAME, f"sending {len(cases)} hostile inputs through {region.router_url}")
        port = harness.router_port(region)
        table = Table(
            "Inputs sent through the router",
            ["input", "request", "expected", "status", "reason", "served by"],
        )
        unexpected, bypassed, controls_failed = [], [], []
        for case in cases:
            response = http_probe.send(port, case.method, case.target, case.headers)
            shown_target = case.target if len(case.target) <= 40 else case.target[:37] + "..."
            table.rows.append(
                [
                    case.name,
                    f"{case.method} {shown_target}",
                    case.expected_status,
                    response.status or response.error,
                    response.reason or "-",
                    response.cell or "-",
                ]
            )
            if response.status != case.expected_status:
                unexpected.append(f"{case.name}: {response.status}")
            if not case.served and (response.cell is not None or 0 < response.status < 400):
                bypassed.append(f"{case.name}: {response.status} from {response.cell}")
            if case.served and (response.status != 200 or response.cell is None):
                controls_failed.append(f"{case.name}: {response.status}")
        result.tables.append(table)

    denied = [case for case in cases if not case.served]
    result.figure("inputs sent", len(cases))
    result.figure("inputs that must be denied", len(denied))
    result.figure("inputs with the expected status", len(cases) - len(unexpected))
    result.check(
        "no input that must be denied reached a service",
        not bypassed,
        "; ".join(bypassed) or f"{len(denied)} of {len(denied)} denied before the service",
    )
    result.check(
        "every control request was served",
        not controls_failed,
        "; ".join(controls_failed) or "served with 200 and an x-cell header",
    )
    result.check(
        "every input got its expected status",
        not unexpected,
        "; ".join(unexpected) or f"{len(cases)} of {len(cases)}",
        safety=False,
    )
