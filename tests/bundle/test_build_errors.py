"""Each bad build input: exit status 2, one line on stderr, and no output written."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bundle.conftest import run_cli
from wasm.keys import KeyPair
from wasm.layout import POLICY_DIR, SAMPLE_DATA_FILE

ALLOWED_HINT = "`python -m wasm builtins` lists the allowed built-ins"


@dataclass
class Workspace:
    """A copy of the policy and sample data in root, where the build runs with relative paths.

    The output directory, root/out, must stay absent after a rejected build.
    """

    policy_dir: Path
    data_file: Path
    out_dir: Path
    keys: dict[str, KeyPair]
    root: Path

    def arguments(self) -> list[str]:
        return [
            "build",
            "authz",
            "--signing-key",
            str(self.keys["bundle-signing"].private_key),
            "--issuer-key",
            str(self.keys["issuer"].public_key),
            "--policy-dir",
            "policy",
            "--data",
            "data.json",
            "--out-dir",
            "out",
        ]


@dataclass(frozen=True)
class BadInput:
    """A change to a good workspace or its arguments, and the error line it must produce."""

    change: Callable[[Workspace, list[str]], None]
    expected: Callable[[Workspace], str]


def add_policy_file(name: str, text: str) -> Callable[[Workspace, list[str]], None]:
    def change(workspace: Workspace, _: list[str]) -> None:
        (workspace.policy_dir / name).write_text(text)

    return change


def replace_argument(flag: str, value: Callable[[Workspace], str]):
    def change(workspace: Workspace, arguments: list[str]) -> None:
        arguments[arguments.index(flag) + 1] = value(workspace)

    return change


def drop_argument(flag: str):
    def change(_: Workspace, arguments: list[str]) -> None:
        index = arguments.index(flag)
        del arguments[index : index + 2]

    return change


def edit_data(edit: Callable[[dict], None]):
    def change(workspace: Workspace, _: list[str]) -> None:
        document = json.loads(workspace.data_file.read_text())
        edit(document["authz"])
        workspace.data_file.write_text(json.dumps(document))

    return change


def rename_bundle(name: str):
    def change(_: Workspace, arguments: list[str]) -> None:
        arguments[1] = name

    return change


def set_option(option: str, value: str):
    def change(_: Workspace, arguments: list[str]) -> None:
        arguments.extend([option, value])

    return change


BAD_INPUTS = {
    "coverage above 100": BadInput(
        set_option("--min-coverage", "150"),
        lambda w: "error: invalid --min-coverage 150: expected 0 to 100 (percent of lines)",
    ),
    "negative coverage": BadInput(
        set_option("--min-coverage", "-1"),
        lambda w: "error: invalid --min-coverage -1: expected 0 to 100 (percent of lines)",
    ),
    "rego syntax error": BadInput(
        add_policy_file("broken.rego", "package envoy.authz\n\nbroken := {\n"),
        lambda w: (
            "error: policy/broken.rego:4: rego_parse_error: unexpected eof token (and 1 more error)"
        ),
    ),
    "http.send": BadInput(
        add_policy_file(
            "egress.rego",
            'package envoy.authz\n\nlookup := http.send({"method": "GET", "url": "http://127.0.0.1:9"})\n',
        ),
        lambda w: (
            f"error: policy/egress.rego:3: built-in http.send is not allowed in a "
            "bundle because it sends an HTTP request, a call out of the pod on the request path "
            f"(invariant I2). {ALLOWED_HINT}"
        ),
    ),
    "net.lookup_ip_addr": BadInput(
        add_policy_file(
            "dns.rego",
            'package envoy.authz\n\naddresses := net.lookup_ip_addr("localhost")\n',
        ),
        lambda w: (
            f"error: policy/dns.rego:3: built-in net.lookup_ip_addr is not allowed "
            "in a bundle because it sends a DNS query, a call out of the pod on the request path "
            f"(invariant I2). {ALLOWED_HINT}"
        ),
    ),
    "opa.runtime": BadInput(
        add_policy_file(
            "runtime.rego",
            "package envoy.authz\n\nenvironment := opa.runtime().env\n",
        ),
        lambda w: (
            f"error: policy/runtime.rego:3: built-in opa.runtime is not allowed in "
            "a bundle because the agent's WebAssembly host gives built-ins no runtime, "
            "so it returns {} in the agent but OPA's configuration and environment under opa test. "
            f"{ALLOWED_HINT}"
        ),
    ),
    "undefined function": BadInput(
        add_policy_file("typo.rego", 'package envoy.authz\n\nshout := uper("x")\n'),
        lambda w: "error: policy/typo.rego:3: rego_type_error: undefined function uper",
    ),
    "unformatted policy": BadInput(
        add_policy_file("loose.rego", "package envoy.authz\n\nloose:=1\n"),
        lambda w: (
            "error: not formatted as opa fmt writes it: policy/loose.rego; run `opa fmt -w policy`"
        ),
    ),
    "failing policy test": BadInput(
        add_policy_file(
            "never_test.rego",
            "package envoy.authz_test\n\ntest_success_never if {\n\t1 == 2\n}\n",
        ),
        lambda w: (
            "error: 1 policy test(s) failed on the rego target: "
            "test_success_never (policy/never_test.rego:3)"
        ),
    ),
    "missing signing key": BadInput(
        replace_argument("--signing-key", lambda w: "missing.key.pem"),
        lambda w: (
            "error: signing key not found: missing.key.pem; "
            "generate one with `python -m wasm keygen`"
        ),
    ),
    "public key as signing key": BadInput(
        replace_argument("--signing-key", lambda w: str(w.keys["bundle-signing"].public_key)),
        lambda w: (
            f"error: signing key {w.keys['bundle-signing'].public_key} is not an "
            "unencrypted PEM P-256 private key, the kind ES256 needs; generate one with "
            "`python -m wasm keygen`"
        ),
    ),
    "missing issuer key": BadInput(
        replace_argument("--issuer-key", lambda w: "issuer.pub.pem"),
        lambda w: (
            "error: issuer key not found: issuer.pub.pem; generate one with `python -m wasm keygen`"
        ),
    ),
    "no issuer": BadInput(
        drop_argument("--issuer-key"),
        lambda w: (
            "error: data.json: no token issuer, so the bundle would reject every "
            "token; pass an issuer public key (--issuer-key)"
        ),
    ),
    "trailing slash in path prefix": BadInput(
        edit_data(lambda authz: authz["routes"]["billing"][1].update(path_prefix="/v1/invoices/")),
        lambda w: (
            "error: data.json: authz.routes.billing[1].path_prefix is '/v1/invoices/'; "
            "expected / or a path such as /v1/orders: segments of letters, digits and "
            "-._~!$&'()*+,=:@ without '%', ';', empty or all-dot segments, or a trailing slash"
        ),
    ),
    "lower-case method": BadInput(
        edit_data(lambda authz: authz["routes"]["support"][0].update(methods=["get"])),
        lambda w: (
            "error: data.json: authz.routes.support[0].methods has 'get'; expected "
            "upper-case HTTP methods: CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE"
        ),
    ),
    "unknown data key": BadInput(
        edit_data(lambda authz: authz.update(revoke=["billing"])),
        lambda w: (
            "error: data.json: unknown key authz.revoke; expected health_paths, "
            "issuers, residency, revoked, routes"
        ),
    ),
    "invalid bundle name": BadInput(
        rename_bundle("Authz/v2"),
        lambda w: (
            "error: invalid bundle name 'Authz/v2': expected 1-63 lower-case letters, "
            "digits or '-', not starting or ending with '-', e.g. authz"
        ),
    ),
}


@pytest.fixture
def workspace(tmp_path: Path, keys: dict[str, KeyPair]) -> Workspace:
    policy_dir = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, policy_dir)
    data_file = tmp_path / "data.json"
    shutil.copyfile(SAMPLE_DATA_FILE, data_file)
    return Workspace(policy_dir, data_file, tmp_path / "out", keys, tmp_path)


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_build_rejects_bad_input(case: BadInput, workspace: Workspace) -> None:
    arguments = workspace.arguments()
    case.change(workspace, arguments)

    completed = run_cli(*arguments, cwd=workspace.root)

    assert completed.stderr.splitlines()[-1] == case.expected(workspace)
    assert [line for line in completed.stderr.splitlines() if line.startswith("error:")] == [
        case.expected(workspace)
    ]
    assert "Traceback" not in completed.stderr
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert not workspace.out_dir.exists()


def test_build_of_unchanged_workspace_succeeds(workspace: Workspace) -> None:
    completed = run_cli(*workspace.arguments(), cwd=workspace.root)

    assert completed.stderr.count("error:") == 0
    assert completed.returncode == 0
    assert completed.stdout == "out/authz/bundle.tar.gz\n"
    assert (workspace.out_dir / "authz" / "bundle.tar.gz").is_file()


@pytest.mark.parametrize(
    ("out_dir", "expected"),
    [
        ("out", "error: --out-dir out is a file; expected a directory"),
        ("out/sub", "error: --out-dir out/sub is inside out, a file; expected a directory"),
    ],
    ids=["out dir is a file", "out dir is below a file"],
)
def test_build_rejects_out_dir_file_before_running_tests(
    workspace: Workspace, out_dir: str, expected: str
) -> None:
    workspace.out_dir.write_text("a user's file\n")
    arguments = workspace.arguments()
    arguments[arguments.index("--out-dir") + 1] = out_dir
    started = time.monotonic()

    completed = run_cli(*arguments, cwd=workspace.root)

    # The policy tests alone take over 10 s, so a fast answer shows the check ran first.
    assert time.monotonic() - started < 10
    assert completed.stderr == expected + "\n"
    assert completed.returncode == 2
    assert workspace.out_dir.read_text() == "a user's file\n"
