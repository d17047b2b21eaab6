"""Invalid command lines of `python -m wasm`: exit status 2 and one line on stderr."""

from __future__ import annotations

import pytest

from tests.bundle.conftest import run_cli


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            [],
            "python -m wasm: error: the following arguments are required: COMMAND; "
            "see python -m wasm --help",
        ),
        (
            ["nonsense"],
            "python -m wasm: error: argument COMMAND: invalid choice: 'nonsense' (choose from "
            "'keygen', 'token', 'build', 'verify', 'publish', 'builtins'); see python -m wasm "
            "--help",
        ),
        (
            ["build"],
            "python -m wasm build: error: the following arguments are required: name, "
            "--signing-key; see python -m wasm build --help",
        ),
        (
            ["token", "--issuer-key", "issuer.key.pem", "--subject", "billing", "--ttl", "1h"],
            "python -m wasm token: error: argument --ttl: invalid int value: '1h'; "
            "see python -m wasm token --help",
        ),
        (
            ["publish", "bundle.tar.gz", "--name", "authz"],
            "python -m wasm publish: error: the following arguments are required: --bucket, "
            "--public-key; "
            "see python -m wasm publish --help",
        ),
    ],
    ids=["no command", "unknown command", "build without arguments", "ttl not a number",
         "publish without bucket"],
)  # fmt: skip
def test_invalid_command_line_is_one_line(arguments: list[str], expected: str) -> None:
    completed = run_cli(*arguments)

    assert completed.returncode == 2
    assert completed.stderr == expected + "\n"
    assert completed.stdout == ""
