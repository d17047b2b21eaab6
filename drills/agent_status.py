"""Read a policy agent's bundle status from OPA's status API (GET /v1/status)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class BundleStatus:
    """The status plugin's view of one bundle: what is active and the last error, if any."""

    active_revision: str | None
    code: str | None
    message: str | None
    errors: tuple[str, ...]
    last_successful_request: str | None
    last_request: str | None

    @property
    def failing(self) -> bool:
        return bool(self.code or self.message or self.errors)

    def describe(self) -> str:
        if not self.failing:
            return f"revision {self.active_revision}, no error"
        detail = "; ".join(self.errors) or self.message or ""
        return f"revision {self.active_revision}, {self.code}: {detail}"[:300]


def bundle_status(agent_url: str, bundle: str) -> BundleStatus | None:
    """Return the bundle's status, or None when the agent does not respond."""
    try:
        response = httpx.get(f"{agent_url}/v1/status", timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    entry = (response.json().get("result") or {}).get("bundles", {}).get(bundle)
    if entry is None:
        return None
    return BundleStatus(
        active_revision=entry.get("active_revision"),
        code=entry.get("code"),
        message=entry.get("message"),
        errors=tuple(str(error) for error in entry.get("errors") or ()),
        last_successful_request=entry.get("last_successful_request"),
        last_request=entry.get("last_request"),
    )
