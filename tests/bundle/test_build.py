"""The built bundle: its files, manifest, data, signature, and decisions from policy.wasm."""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests.bundle.conftest import run_cli
from wasm.build import BuildResult, build_bundle
from wasm.data import Issuer
from wasm.errors import BundleError
from wasm.evaluate import evaluate_decision
from wasm.keys import KeyPair, load_public_key, public_jwk
from wasm.layout import POLICY_DIR, SAMPLE_DATA_FILE
from wasm.signing import content_digest, read_bundle_file, read_manifest, verify_bundle
from wasm.tokens import mint_token


def bundle_members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as archive:
        return {
            member.name.lstrip("/"): archive.extractfile(member).read()
            for member in archive.getmembers()
            if member.isfile()
        }


def write_bundle(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(f"/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def jwt_part(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_bundle_files(sample_bundle: BuildResult) -> None:
    assert sorted(bundle_members(sample_bundle.bundle)) == [
        ".manifest",
        ".signatures.json",
        "data.json",
        "policies/authz/authz.rego",
        "policies/authz/caller.rego",
        "policies/authz/log_mask.rego",
        "policies/authz/path.rego",
        "policies/authz/residency.rego",
        "policy.wasm",
    ]


def test_bundle_manifest(sample_bundle: BuildResult) -> None:
    manifest = read_manifest(sample_bundle.bundle)

    assert manifest["revision"] == sample_bundle.revision
    assert manifest["roots"] == ["envoy", "authz", "system/log"]
    assert [module["entrypoint"] for module in manifest["wasm"]] == ["envoy/authz/result"]
    assert [module["module"] for module in manifest["wasm"]] == ["/policy.wasm"]


def test_bundle_policy_is_webassembly(sample_bundle: BuildResult) -> None:
    assert read_bundle_file(sample_bundle.bundle, "policy.wasm")[:4] == b"\0asm"


def test_bundle_data_adds_issuer_jwk(sample_bundle: BuildResult, keys: dict[str, KeyPair]) -> None:
    data = json.loads(read_bundle_file(sample_bundle.bundle, "data.json"))
    sample = json.loads(SAMPLE_DATA_FILE.read_text())["authz"]
    issuer_jwk = public_jwk(load_public_key(keys["issuer"].public_key))

    assert data["authz"]["issuers"] == [
        {"iss": "local-region", "aud": "cell-services", "jwks": {"keys": [issuer_jwk]}}
    ]
    assert data["authz"]["routes"] == sample["routes"]
    assert data["authz"]["revoked"] == ["legacy-batch"]
    assert data["authz"]["health_paths"] == ["/healthz", "/readyz"]
    assert data["authz"]["residency"] == {"eu": ["eu"]}


def test_bundle_reports_tests_and_coverage(sample_bundle: BuildResult) -> None:
    assert sample_bundle.tests_passed >= 70
    assert sample_bundle.coverage_percent >= 90.0


def test_signature_names_key_and_algorithm(sample_bundle: BuildResult) -> None:
    signatures = json.loads(read_bundle_file(sample_bundle.bundle, ".signatures.json"))
    [token] = signatures["signatures"]

    assert jwt_part(token, 0) == {"alg": "ES256", "kid": "bundle-signing", "typ": "JWT"}
    assert sorted(entry["name"] for entry in jwt_part(token, 1)["files"]) == sorted(
        name for name in bundle_members(sample_bundle.bundle) if name != ".signatures.json"
    )


def test_signature_verifies_with_signing_key(
    sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    completed = run_cli(
        "verify",
        str(sample_bundle.bundle),
        "--public-key",
        str(keys["bundle-signing"].public_key),
    )

    assert completed.stderr == ""
    assert completed.returncode == 0


def test_signature_rejected_with_other_key(
    sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    with pytest.raises(BundleError, match=r"invalid ECDSA signature$"):
        verify_bundle(sample_bundle.bundle, keys["stranger"].public_key)


def test_cli_verify_rejects_key_id_not_in_signature(
    sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    completed = run_cli(
        "verify",
        str(sample_bundle.bundle),
        "--public-key",
        str(keys["bundle-signing"].public_key),
        "--key-id",
        "wrong",
    )

    assert completed.stderr == (
        f"error: signature of {sample_bundle.bundle} names key id 'bundle-signing', not "
        "'wrong'; pass --key-id bundle-signing if that is the key, or rebuild with "
        "--key-id wrong\n"
    )
    assert completed.returncode == 2


@pytest.mark.parametrize(
    ("make_bundle", "expected"),
    [
        (
            lambda path: path.write_bytes(b"not a tarball"),
            "error: {bundle} is not a gzip-compressed bundle tarball: not a gzip file\n",
        ),
        (
            lambda path: path.mkdir(),
            "error: bundle {bundle} is a directory, expected a bundle.tar.gz file\n",
        ),
    ],
    ids=["not a tarball", "directory"],
)
def test_cli_verify_names_what_the_bundle_file_is(
    keys: dict[str, KeyPair], tmp_path: Path, make_bundle, expected: str
) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    make_bundle(bundle)

    completed = run_cli(
        "verify", str(bundle), "--public-key", str(keys["bundle-signing"].public_key)
    )

    assert completed.stderr == expected.format(bundle=bundle)
    assert completed.returncode == 2


def test_cli_verify_rejects_truncated_bundle(
    sample_bundle: BuildResult, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    truncated = tmp_path / "bundle.tar.gz"
    truncated.write_bytes(sample_bundle.bundle.read_bytes()[:200])

    completed = run_cli(
        "verify", str(truncated), "--public-key", str(keys["bundle-signing"].public_key)
    )

    assert completed.stderr.startswith(
        f"error: {truncated} is not a gzip-compressed bundle tarball: "
    )
    assert completed.stderr.count("\n") == 1
    assert completed.returncode == 2


def test_signature_rejected_after_data_change(
    sample_bundle: BuildResult, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    members = bundle_members(sample_bundle.bundle)
    data = json.loads(members["data.json"])
    data["authz"]["revoked"] = []
    members["data.json"] = json.dumps(data).encode()
    tampered = tmp_path / "bundle.tar.gz"
    write_bundle(tampered, members)

    with pytest.raises(BundleError, match=r"data\.json: digest mismatch"):
        verify_bundle(tampered, keys["bundle-signing"].public_key)


def test_same_inputs_give_same_revision(
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
    local_issuer: Issuer,
    tmp_path: Path,
) -> None:
    again = build_bundle(
        "authz",
        signing_key=keys["bundle-signing"].private_key,
        issuers=[local_issuer],
        out_dir=tmp_path,
    )

    assert again.revision == sample_bundle.revision
    assert content_digest(again.bundle) == content_digest(sample_bundle.bundle)


def test_different_data_gives_new_revision(
    sample_bundle: BuildResult, second_bundle: BuildResult
) -> None:
    assert second_bundle.revision != sample_bundle.revision


def test_rebuild_replaces_output(
    sample_bundle: BuildResult, keys: dict[str, KeyPair], local_issuer: Issuer, tmp_path: Path
) -> None:
    output = tmp_path / "authz" / "bundle.tar.gz"
    output.parent.mkdir()
    shutil.copyfile(sample_bundle.bundle, output)

    rebuilt = build_bundle(
        "authz",
        signing_key=keys["bundle-signing"].private_key,
        issuers=[local_issuer],
        out_dir=tmp_path,
        revision="manual-1",
    )

    assert rebuilt.bundle == output
    assert read_manifest(output)["revision"] == "manual-1"
    assert sorted(path.name for path in output.parent.iterdir()) == ["bundle.tar.gz"]


def decide(server: str, request_input: dict) -> dict:
    body = json.dumps({"input": request_input}).encode()
    request = urllib.request.Request(
        f"{server}/v1/data/envoy/authz/result?metrics=true",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def envoy_input(
    method: str, path: str, headers: dict, jurisdiction: str = "eu", principal: str = ""
) -> dict:
    attributes = {
        "request": {"http": {"method": method, "path": path, "headers": headers}},
        "contextExtensions": {"cell": "cell-1", "jurisdiction": jurisdiction},
    }
    if principal:
        attributes["source"] = {"principal": principal}
    return {"attributes": attributes}


def bearer(keys: dict[str, KeyPair], caller: str, key: str = "issuer", **claims) -> dict:
    token = mint_token(keys[key].private_key, subject=caller, **claims)
    return {"authorization": f"Bearer {token}"}


WEB_SPIFFE_ID = "spiffe://cells.example/ns/orders/sa/web"

# caller (None: no token), issuer key, method, path, extra headers, jurisdiction -> reason
DECISIONS = {
    "health probe": (None, "issuer", "GET", "/healthz", {}, "eu", "health"),
    "orders-web POST": ("orders-web", "issuer", "POST", "/v1/orders", {}, "eu", "allowed"),
    "billing GET invoice": ("billing", "issuer", "GET", "/v1/invoices/7", {}, "eu", "allowed"),
    "billing POST": ("billing", "issuer", "POST", "/v1/orders", {}, "eu", "default-deny"),
    "auditor GET profile": ("auditor", "issuer", "GET", "/v1/profiles/1", {}, "eu", "allowed"),
    "auditor DELETE": ("auditor", "issuer", "DELETE", "/v1/orders/1", {}, "eu", "default-deny"),
    "support GET orders": ("support", "issuer", "GET", "/v1/orders", {}, "eu", "default-deny"),
    "sibling prefix": ("orders-web", "issuer", "GET", "/v1/ordersX", {}, "eu", "default-deny"),
    "encoded slash": ("orders-web", "issuer", "GET", "/v1/orders%2F1", {}, "eu",
                      "path-not-canonical"),
    "no token": (None, "issuer", "GET", "/v1/orders", {}, "eu", "token-missing"),
    "unknown key": ("billing", "stranger", "GET", "/v1/orders", {}, "eu", "token-invalid"),
    "revoked caller": ("legacy-batch", "issuer", "GET", "/v1/orders", {}, "eu", "revoked"),
    "eu data in us cell": ("orders-web", "issuer", "GET", "/v1/orders",
                           {"x-data-residency": "eu"}, "us", "residency"),
    "eu data in eu cell": ("orders-web", "issuer", "GET", "/v1/orders",
                           {"x-data-residency": "eu"}, "eu", "allowed"),
}  # fmt: skip


@pytest.mark.parametrize("case", DECISIONS.values(), ids=DECISIONS.keys())
def test_opa_server_decides_with_policy_wasm(
    case: tuple, opa_server: str, keys: dict[str, KeyPair]
) -> None:
    caller, key, method, path, extra_headers, jurisdiction, expected_reason = case
    headers = bearer(keys, caller, key) if caller else {}
    headers.update(extra_headers)

    response = decide(opa_server, envoy_input(method, path, headers, jurisdiction))

    assert response["result"]["response_headers_to_add"] == {"x-authz-reason": expected_reason}
    assert response["result"]["allowed"] is (expected_reason in {"allowed", "health"})
    # The server ran policy.wasm through OPA's WebAssembly resolver, not the Rego evaluator.
    assert response["metrics"]["timer_wasm_vm_eval_ns"] > 0


def test_opa_server_rejects_expired_token(opa_server: str, keys: dict[str, KeyPair]) -> None:
    headers = bearer(keys, "billing", now=1_700_000_000, ttl_seconds=60)

    response = decide(opa_server, envoy_input("GET", "/v1/orders", headers))

    assert response["result"] == {
        "allowed": False,
        "http_status": 401,
        "headers": {
            "content-type": "application/json",
            "www-authenticate": "Bearer",
            "x-authz-reason": "token-invalid",
        },
        "response_headers_to_add": {"x-authz-reason": "token-invalid"},
        "body": '{"error":"unauthorized","reason":"token-invalid"}',
    }


@pytest.mark.parametrize("case", DECISIONS.values(), ids=DECISIONS.keys())
def test_rego_and_policy_wasm_decide_alike(
    case: tuple, opa_server: str, sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    caller, key, method, path, extra_headers, jurisdiction, _ = case
    headers = bearer(keys, caller, key) if caller else {}
    headers.update(extra_headers)
    request_input = envoy_input(method, path, headers, jurisdiction)

    from_wasm = decide(opa_server, request_input)["result"]
    from_rego = evaluate_decision(sample_bundle.bundle, request_input)

    assert from_wasm == from_rego


# Peers over mutual TLS. The sample data grants no SPIFFE ID, so a peer with one is denied
# by default even with a token that would be allowed: its SPIFFE ID names the caller.
# principal, token caller (None: no token), method, path -> reason
PEER_DECISIONS = {
    "spiffe peer": (WEB_SPIFFE_ID, None, "GET", "/v1/orders", "default-deny"),
    "spiffe peer with token": (WEB_SPIFFE_ID, "billing", "GET", "/v1/invoices/7", "default-deny"),
    "revoked caller token only": ("", "legacy-batch", "GET", "/v1/orders", "revoked"),
    "principal not spiffe": ("CN=web", None, "GET", "/v1/orders", "token-missing"),
    "principal not spiffe, token": ("CN=web", "billing", "GET", "/v1/invoices/7", "allowed"),
}  # fmt: skip


@pytest.mark.parametrize("case", PEER_DECISIONS.values(), ids=PEER_DECISIONS.keys())
def test_peer_decisions_match_in_rego_and_wasm(
    case: tuple, opa_server: str, sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    principal, caller, method, path, expected_reason = case
    headers = bearer(keys, caller) if caller else {}
    request_input = envoy_input(method, path, headers, principal=principal)

    from_wasm = decide(opa_server, request_input)["result"]
    from_rego = evaluate_decision(sample_bundle.bundle, request_input)

    assert from_wasm["response_headers_to_add"] == {"x-authz-reason": expected_reason}
    assert from_wasm == from_rego


def test_evaluate_decision_reads_rego_sources(
    sample_bundle: BuildResult, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    policy_dir = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, policy_dir)
    authz = policy_dir / "authz.rego"
    authz.write_text(authz.read_text().replace('403: "forbidden"', '403: "refused"'))
    request_input = envoy_input("DELETE", "/v1/orders/1", bearer(keys, "auditor"))

    decision = evaluate_decision(sample_bundle.bundle, request_input, policy_dir=policy_dir)

    assert decision["body"] == '{"error":"refused","reason":"default-deny"}'
