"""The Rego built-in functions that a bundle may call, as an OPA capabilities document.

`opa check` and `opa build` take this document with `--capabilities`, so OPA itself
rejects a policy that calls a forbidden built-in, with the file and line of the call.

Where the forbidden set comes from, read in OPA v1.22.4's source:

- internal/compiler/wasm/wasm.go, `builtinsFunctions`: the built-ins compiled into the
  WebAssembly module itself. The compiler turns a call to any other built-in into a
  call to the host functions opa_builtin0 to opa_builtin4, by number of arguments.
- internal/wasm/sdk/internal/wasm/vm.go: when it loads a module, the Go host (wazero,
  used by OPA's wasm resolvers and so by the policy agent) maps each of those names
  to `topdown.GetBuiltin(name)`, the same function that the Rego evaluator runs.
  Every name in `opa capabilities --current` of v1.22.4 is registered there except
  `assign`, `eq` and `print`, which the compiler rewrites away, and none takes more
  than 4 arguments. So the host can run every built-in that OPA offers.
- internal/wasm/sdk/internal/wasm/bindings.go: the host evaluates built-ins with a
  BuiltinContext whose Runtime is nil.

The forbidden set is therefore not about what the host can run but about what a
decision on the request path must not do: call out of the pod, or read a value that
differs between the agent and `opa test`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wasm.errors import BundleError
from wasm.opa import run_opa

FORBIDDEN_BUILTINS: dict[str, str] = {
    "http.send": (
        "it sends an HTTP request, a call out of the pod on the request path (invariant I2)"
    ),
    "net.lookup_ip_addr": (
        "it sends a DNS query, a call out of the pod on the request path (invariant I2)"
    ),
    "opa.runtime": (
        "the agent's WebAssembly host gives built-ins no runtime, so it returns {} in the "
        "agent but OPA's configuration and environment under opa test"
    ),
}

ALLOWED_BUILTINS_COMMAND = "python -m wasm builtins"


def current_capabilities() -> dict[str, Any]:
    """Return the capabilities document of the OPA in use (`opa capabilities --current`)."""
    completed = run_opa(["capabilities", "--current"])
    if completed.returncode != 0:
        raise BundleError(f"`opa capabilities --current` failed: {completed.stderr.strip()}")
    return json.loads(completed.stdout)


def bundle_capabilities() -> dict[str, Any]:
    """Return the current capabilities without the forbidden built-ins."""
    capabilities = current_capabilities()
    capabilities["builtins"] = [
        builtin for builtin in capabilities["builtins"] if builtin["name"] not in FORBIDDEN_BUILTINS
    ]
    return capabilities


def write_bundle_capabilities(path: Path) -> Path:
    """Write `bundle_capabilities()` as JSON to path and return path."""
    path.write_text(json.dumps(bundle_capabilities(), indent=2) + "\n")
    return path


def allowed_builtins() -> list[str]:
    """Return the sorted names of the built-ins that a bundle may call."""
    return sorted({builtin["name"] for builtin in bundle_capabilities()["builtins"]})


def forbidden_builtin_message(name: str, location: str) -> str:
    """Return the one-line error for a call to the forbidden built-in name at location."""
    return (
        f"{location}: built-in {name} is not allowed in a bundle because "
        f"{FORBIDDEN_BUILTINS[name]}. `{ALLOWED_BUILTINS_COMMAND}` lists the allowed built-ins"
    )
