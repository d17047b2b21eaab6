"""Scripted requests against a local region, each with the status it must get.

The same cases drive `scripts/local-region --check` and the tests: every rule of the
policy denies at least one case, and every allowed case names the cell that must
serve it. Cases address eu-1 and us-1, which every region has (see cell_layout).
"""

from dataclasses import dataclass, field

from components.sidecar.cell_assignment import cell_for_user

# Header that carries the case number, so that a decision log entry can be matched to
# the case that caused it.
CASE_HEADER = "x-check-case"
TOKEN_KINDS = ("valid", "expired", "untrusted", "wrong-audience", "malformed", "none")


@dataclass(frozen=True)
class RequestCase:
    """One request and the response it must get.

    target is "router" or a cell name. expected_cell is the x-cell response header, or
    None where the sidecar denies and the service never sees the request.
    """

    name: str
    method: str
    path: str
    target: str
    caller: str | None
    expected_status: int
    expected_reason: str
    expected_cell: str | None
    token: str = "valid"
    user: str = "user-7"
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None

    def __post_init__(self) -> None:
        if self.token not in TOKEN_KINDS:
            raise ValueError(f"invalid token kind {self.token!r}; expected one of {TOKEN_KINDS}")

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path} @{self.target}"


def standard_cases(cell_names: list[str]) -> list[RequestCase]:
    """Return the check's cases for a region with these cells, in a stable order."""
    routed = cell_for_user("user-7", cell_names)
    writer = cell_for_user("user-21", cell_names)
    return [
        RequestCase("health through router", "GET", "/healthz", "router", None, 200, "health",
                    cell_for_user("user-7", cell_names), token="none"),
        RequestCase("health at eu-1", "GET", "/healthz", "eu-1", None, 200, "health", "eu-1",
                    token="none"),
        RequestCase("allowed read via router", "GET", "/v1/orders", "router", "orders-web", 200,
                    "allowed", routed),
        RequestCase("allowed write via router", "POST", "/v1/orders", "router", "orders-web",
                    201, "allowed", writer, user="user-21",
                    body={"item": "notebook", "quantity": 3}),
        RequestCase("allowed read at us-1", "GET", "/v1/invoices", "us-1", "billing", 200,
                    "allowed", "us-1"),
        RequestCase("allowed update at eu-1", "PUT", "/v1/profiles/user-7", "eu-1",
                    "profile-app", 200, "allowed", "eu-1",
                    body={"display_name": "User Seven", "email": "user-7@example.com"}),
        RequestCase("allowed, order not found", "DELETE", "/v1/orders/999999", "us-1",
                    "orders-web", 404, "allowed", "us-1"),
        RequestCase("default deny: route not granted", "GET", "/v1/orders", "us-1", "support",
                    403, "default-deny", None),
        RequestCase("default deny: unknown route", "GET", "/v1/shipments", "us-1", "orders-web",
                    403, "default-deny", None),
        RequestCase("default deny: method not allowed", "DELETE", "/v1/orders/1", "us-1",
                    "billing", 403, "default-deny", None),
        RequestCase("residency: eu data at us cell", "GET", "/v1/orders", "us-1", "orders-web",
                    403, "residency", None, headers={"x-data-residency": "eu"}),
        RequestCase("residency: eu data at eu cell", "GET", "/v1/orders", "eu-1", "orders-web",
                    200, "allowed", "eu-1", headers={"x-data-residency": "eu"}),
        RequestCase("revoked caller", "GET", "/v1/orders", "us-1", "legacy-batch", 403,
                    "revoked", None),
        RequestCase("unknown caller", "GET", "/v1/orders", "us-1", "intruder", 403,
                    "default-deny", None),
        RequestCase("missing token", "GET", "/v1/orders", "us-1", None, 401, "token-missing",
                    None, token="none"),
        RequestCase("expired token", "GET", "/v1/orders", "us-1", "orders-web", 401,
                    "token-invalid", None, token="expired"),
        RequestCase("bad signature", "GET", "/v1/orders", "us-1", "orders-web", 401,
                    "token-invalid", None, token="untrusted"),
        RequestCase("wrong audience", "GET", "/v1/orders", "eu-1", "orders-web", 401,
                    "token-invalid", None, token="wrong-audience"),
        RequestCase("malformed token", "GET", "/v1/orders", "eu-1", "orders-web", 401,
                    "token-invalid", None, token="malformed"),
        RequestCase("path not canonical", "GET", "/v1//orders", "us-1", "orders-web", 400,
                    "path-not-canonical", None),
    ]  # fmt: skip
