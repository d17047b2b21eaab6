"""Evaluate a bundle's decision with OPA's Rego evaluator, for comparison with the agent.

The agent evaluates policy.wasm. `opa eval` on the same bundle evaluates its Rego
sources, so a difference between the two points at the WebAssembly compilation or host.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wasm.errors import BundleError
from wasm.opa import failure_reason, run_opa

DECISION_QUERY = "data.envoy.authz.result"


def evaluate_decision(
    bundle: Path, request_input: Mapping[str, Any], *, query: str = DECISION_QUERY
) -> Any:
    """Return the value of query for request_input under the bundle, or None if undefined."""
    if not bundle.is_file():
        raise BundleError(f"bundle not found: {bundle}")
    completed = run_opa(
        [
            "eval",
            "--bundle",
            bundle,
            "--stdin-input",
            "--format",
            "json",
            query,
        ],
        stdin=json.dumps(request_input),
    )
    if completed.returncode != 0:
        raise BundleError(f"`opa eval` of {query} failed: {failure_reason(completed)}")
    results = json.loads(completed.stdout).get("result", [])
    if not results:
        return None
    return results[0]["expressions"][0]["value"]
