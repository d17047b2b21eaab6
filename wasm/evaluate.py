"""Evaluate a bundle's decision with OPA's Rego evaluator, for comparison with the agent.

The agent evaluates the bundle's policy.wasm. This module evaluates the Rego sources of
the policy with the bundle's data.json instead, so a difference between the two points
at the WebAssembly compilation or host. The bundle itself cannot serve as the Rego
side: `opa build -t wasm` drops the entrypoint rule from the Rego files it packs, and
`opa eval --bundle` then evaluates policy.wasm too.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wasm import layout
from wasm.checks import policy_files
from wasm.errors import BundleError
from wasm.opa import failure_reason, run_opa
from wasm.signing import read_bundle_file

DECISION_QUERY = "data.envoy.authz.result"


def evaluate_decision(
    bundle: Path,
    request_input: Mapping[str, Any],
    *,
    policy_dir: Path = layout.POLICY_DIR,
    query: str = DECISION_QUERY,
) -> Any:
    """Return the value of query for request_input, or None if it is undefined.

    The Rego sources come from policy_dir (tests excluded) and the data from the
    bundle, so the bundle should have been built from that policy_dir.
    """
    data = read_bundle_file(bundle, "data.json")
    sources = policy_files(policy_dir).sources
    with tempfile.TemporaryDirectory(prefix="wasm-evaluate-") as scratch:
        data_file = Path(scratch) / "data.json"
        data_file.write_bytes(data)
        arguments: list[str | Path] = ["eval", "--target", "rego", "--data", data_file]
        for source in sources:
            arguments += ["--data", source]
        arguments += ["--stdin-input", "--format", "json", query]
        completed = run_opa(arguments, stdin=json.dumps(request_input))
    if completed.returncode != 0:
        raise BundleError(f"`opa eval` of {query} failed: {failure_reason(completed)}")
    results = json.loads(completed.stdout).get("result", [])
    if not results:
        return None
    return results[0]["expressions"][0]["value"]
