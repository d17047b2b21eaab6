"""Bundle signatures: reading a bundle's manifest and verifying its signature with OPA."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from wasm.errors import BundleError
from wasm.keys import load_public_key
from wasm.opa import failure_reason, run_opa

SIGNING_ALGORITHM = "ES256"
# The key id in the bundle signature, which an agent's `signing.keyid` and `keys` name.
DEFAULT_SIGNING_KEY_ID = "bundle-signing"
SIGNATURES_FILE = ".signatures.json"


def read_bundle_file(bundle: Path, name: str, *, unsigned_hint: bool = False) -> bytes:
    """Return the content of file name (e.g. ".manifest") inside a bundle tarball.

    With unsigned_hint, a missing file is reported as a missing signature.
    """
    members = _read_members(bundle)
    if name not in members:
        what = "it is not signed" if unsigned_hint else "it is not a complete bundle"
        raise BundleError(
            f"{bundle} has no {name}, so {what}; build it with `python -m wasm build`"
        )
    return members[name]


def read_manifest(bundle: Path) -> dict[str, Any]:
    """Return the bundle's .manifest as a dictionary."""
    return json.loads(read_bundle_file(bundle, ".manifest"))


def content_digest(bundle: Path) -> str:
    """Return a SHA-256 over every file of the bundle except its signature.

    ES256 signatures differ from one signing to the next, so two builds of the same
    policy and data have the same digest but different tarball bytes.
    """
    digest = hashlib.sha256()
    for name, content in sorted(_read_members(bundle).items()):
        if name == SIGNATURES_FILE:
            continue
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def signature_digest(bundle: Path) -> str:
    """Return the SHA-256 of the bundle's .signatures.json.

    Together with content_digest it tells a re-signed bundle (same content, new
    signature, as after a signing-key rotation) from the one already published.
    """
    return hashlib.sha256(read_bundle_file(bundle, SIGNATURES_FILE, unsigned_hint=True)).hexdigest()


def verify_bundle(bundle: Path, public_key: Path, *, key_id: str = DEFAULT_SIGNING_KEY_ID) -> None:
    """Verify the bundle's signature with OPA as an agent does, or raise BundleError.

    Before OPA runs, the bundle must be a gzip tarball with a .signatures.json whose
    signature names key_id, so each of these mistakes gets its own message.
    """
    load_public_key(public_key, role="verification key")
    signatures = read_bundle_file(bundle, SIGNATURES_FILE, unsigned_hint=True)
    signed_key_id = _signature_key_id(bundle, signatures)
    if signed_key_id != key_id:
        raise BundleError(
            f"signature of {bundle} names key id {signed_key_id!r}, not {key_id!r}; pass "
            f"--key-id {signed_key_id} if that is the key, or rebuild with --key-id {key_id}"
        )
    with tempfile.TemporaryDirectory(prefix="wasm-verify-") as scratch:
        completed = run_opa(
            [
                "build",
                "--bundle",
                bundle,
                "--verification-key",
                public_key,
                "--verification-key-id",
                key_id,
                "--signing-alg",
                SIGNING_ALGORITHM,
                "--output",
                Path(scratch) / "verified.tar.gz",
            ]
        )
    if completed.returncode != 0:
        raise BundleError(
            f"signature of {bundle} does not verify with {public_key}: {failure_reason(completed)}"
        )


def _signature_key_id(bundle: Path, signatures: bytes) -> str:
    # .signatures.json is {"signatures": ["<JWS>"]}. The key id is the JWS header's kid or,
    # as OPA also accepts, the payload's keyid claim that `opa sign --claims-file` writes.
    try:
        token = json.loads(signatures)["signatures"][0]
        header, payload = token.split(".")[:2]
        kid = _jws_part(header).get("kid") or _jws_part(payload).get("keyid")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, binascii.Error):
        kid = None
    if not isinstance(kid, str):
        raise BundleError(
            f"{bundle} has a {SIGNATURES_FILE} without a signature that names its key id; "
            "rebuild it with `python -m wasm build`"
        )
    return kid


def _jws_part(part: str) -> dict:
    decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(decoded, dict):
        raise ValueError("a JWS header or payload is not a JSON object")
    return decoded


def _read_members(bundle: Path) -> dict[str, bytes]:
    if bundle.is_dir():
        raise BundleError(f"bundle {bundle} is a directory, expected a bundle.tar.gz file")
    if not bundle.is_file():
        raise BundleError(f"bundle not found: {bundle}")
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(bundle, "r:gz") as archive:
            for member in archive.getmembers():
                if not member.isfile():
                    continue
                extracted = archive.extractfile(member)
                if extracted is not None:
                    members[member.name.lstrip("/")] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BundleError(f"{bundle} is not a gzip-compressed bundle tarball: {error}") from None
    return members
