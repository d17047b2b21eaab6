"""Bundle signatures: reading a bundle's manifest and verifying its signature with OPA."""

from __future__ import annotations

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


def read_bundle_file(bundle: Path, name: str) -> bytes:
    """Return the content of file name (e.g. ".manifest") inside a bundle tarball."""
    members = _read_members(bundle)
    if name not in members:
        raise BundleError(f"{bundle} has no {name}; build it with `python -m wasm build`")
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


def verify_bundle(bundle: Path, public_key: Path, *, key_id: str = DEFAULT_SIGNING_KEY_ID) -> None:
    """Verify the bundle's signature with OPA as an agent does, or raise BundleError."""
    load_public_key(public_key, role="verification key")
    if not bundle.is_file():
        raise BundleError(f"bundle not found: {bundle}")
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


def _read_members(bundle: Path) -> dict[str, bytes]:
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
