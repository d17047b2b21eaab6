"""The capabilities that decide which built-ins a bundle may call."""

from __future__ import annotations

from tests.bundle.conftest import run_cli
from wasm.builtins import FORBIDDEN_BUILTINS, allowed_builtins, current_capabilities


def test_forbidden_builtins_exist_in_current_opa() -> None:
    current = {builtin["name"] for builtin in current_capabilities()["builtins"]}

    assert sorted(set(FORBIDDEN_BUILTINS) - current) == []


def test_allowed_builtins_exclude_forbidden() -> None:
    allowed = set(allowed_builtins())

    assert sorted(allowed & set(FORBIDDEN_BUILTINS)) == []


def test_allowed_builtins_keep_what_the_policy_calls() -> None:
    allowed = set(allowed_builtins())
    used_by_policy = {"io.jwt.decode_verify", "json.marshal", "regex.match", "array.slice"}

    assert sorted(used_by_policy - allowed) == []


def test_cli_builtins_lists_allowed_then_forbidden() -> None:
    completed = run_cli("builtins")
    lines = completed.stdout.splitlines()

    assert completed.returncode == 0
    assert lines[: len(allowed_builtins())] == allowed_builtins()
    assert lines[len(allowed_builtins()) :] == [
        f"# forbidden: {name}: {reason}" for name, reason in sorted(FORBIDDEN_BUILTINS.items())
    ]
