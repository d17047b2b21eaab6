"""Send the scripted request cases to a running region and compare every response."""

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from localregion.cases import CASE_HEADER, RequestCase
from localregion.region import LocalRegion

REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CaseResult:
    """The response a case got."""

    number: int
    case: RequestCase
    status: int
    reason: str | None
    cell: str | None

    @property
    def expected(self) -> tuple[int, str, str | None]:
        return (self.case.expected_status, self.case.expected_reason, self.case.expected_cell)

    @property
    def actual(self) -> tuple[int, str | None, str | None]:
        return (self.status, self.reason, self.cell)

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def case_headers(region: LocalRegion, case: RequestCase, number: int) -> dict[str, str]:
    """Return the request headers of a case: user, case number, token, extra headers."""
    headers = {"x-user-id": case.user, CASE_HEADER: str(number), **case.headers}
    token = case_token(region, case)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


def case_token(region: LocalRegion, case: RequestCase) -> str | None:
    if case.token == "none" or case.caller is None:
        return None
    if case.token == "expired":
        return region.token(case.caller, ttl_seconds=-300)
    if case.token == "untrusted":
        return region.token(case.caller, trusted=False)
    if case.token == "wrong-audience":
        return region.token(case.caller, audience="another-audience")
    if case.token == "malformed":
        return "not.a.jwt"
    return region.token(case.caller)


def target_url(region: LocalRegion, case: RequestCase) -> str:
    if case.target == "router":
        return region.router_url
    return region.cell(case.target).sidecar_url


def run_case(
    region: LocalRegion, case: RequestCase, number: int, client: httpx.Client
) -> CaseResult:
    response = client.request(
        case.method,
        target_url(region, case) + case.path,
        headers=case_headers(region, case, number),
        json=case.body,
    )
    return CaseResult(
        number=number,
        case=case,
        status=response.status_code,
        reason=response.headers.get("x-authz-reason"),
        cell=response.headers.get("x-cell"),
    )


def run_cases(region: LocalRegion, cases: Sequence[RequestCase]) -> list[CaseResult]:
    """Send every case once, numbered from 1, and return the responses in order."""
    with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, trust_env=False) as client:
        return [run_case(region, case, number, client) for number, case in enumerate(cases, 1)]


def format_table(results: Sequence[CaseResult]) -> str:
    """Return one line per case: request | expected | actual, and whether they match."""
    rows = [("#", "case", "request", "expected", "actual", "")]
    for result in results:
        rows.append(
            (
                str(result.number),
                result.case.name,
                result.case.request_line,
                _outcome(*result.expected),
                _outcome(*result.actual),
                "ok" if result.passed else "MISMATCH",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _outcome(status: int, reason: str | None, cell: str | None) -> str:
    return f"{status} {reason or '-'} cell={cell or '-'}"
