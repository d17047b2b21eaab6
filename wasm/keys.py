"""ES256 key pairs as PEM files, and their public keys as JWKs.

One kind of key pair serves two roles. With the bundle signing key, `opa build` signs
bundles and the agents verify them. With the token issuer key, `python -m wasm token`
signs caller tokens, and the policy verifies them against the public key in the
bundle's data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wasm.errors import BundleError
from wasm.layout import check_output_directory

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class KeyPair:
    """Paths of a private key (mode 0600) and its public key, both PEM."""

    private_key: Path
    public_key: Path


def key_pair_paths(directory: Path, name: str) -> KeyPair:
    """Return where `generate_key_pair(directory, name)` writes: NAME.key.pem, NAME.pub.pem."""
    if not KEY_NAME.match(name):
        raise BundleError(
            f"invalid key name {name!r}: expected letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    return KeyPair(
        private_key=directory / f"{name}.key.pem",
        public_key=directory / f"{name}.pub.pem",
    )


def generate_key_pair(directory: Path, name: str, *, exist_ok: bool = False) -> KeyPair:
    """Write a new P-256 key pair for ES256 to directory and return its paths.

    With exist_ok, an existing pair of that name is checked and returned unchanged, so
    a bring-up script can call this on every start. Without it, an existing file is an
    error. The private key file is created with mode 0600 and never overwritten.
    """
    pair = key_pair_paths(directory, name)
    check_output_directory(directory, "key directory")
    existing = [path for path in (pair.private_key, pair.public_key) if path.exists()]
    if existing and exist_ok and len(existing) == 2:
        private_key = load_private_key(pair.private_key)
        if public_jwk(private_key.public_key()) != public_jwk(load_public_key(pair.public_key)):
            raise BundleError(
                f"{pair.public_key} is not the public key of {pair.private_key}; "
                "remove both files to generate a new pair"
            )
        return pair
    if existing:
        raise BundleError(
            f"key file already exists: {existing[0]}; choose another name or directory, "
            "or remove the old pair first"
        )

    private_key = ec.generate_private_key(ec.SECP256R1())
    private_pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    directory.mkdir(parents=True, exist_ok=True)
    # O_EXCL with mode 0600 sets the mode at creation, so the key is never readable by others.
    descriptor = os.open(pair.private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as private_file:
        private_file.write(private_pem)
    pair.public_key.write_bytes(public_pem)
    return pair


def load_private_key(path: Path, *, role: str = "private key") -> ec.EllipticCurvePrivateKey:
    """Load a PEM P-256 private key. role names the key in errors, e.g. "signing key"."""
    pem = _read_key_file(path, role)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise BundleError(
            f"{role} {path} is not an unencrypted PEM P-256 private key, the kind ES256 "
            "needs; generate one with `python -m wasm keygen`"
        )
    return key


def load_public_key(path: Path, *, role: str = "public key") -> ec.EllipticCurvePublicKey:
    """Load a PEM P-256 public key. role names the key in errors, e.g. "issuer key"."""
    pem = _read_key_file(path, role)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise BundleError(
            f"{role} {path} is not a PEM P-256 public key, the kind ES256 needs; "
            "use the .pub.pem file that `python -m wasm keygen` writes"
        )
    return key


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """Return the public key as a JWK for ES256, with its RFC 7638 thumbprint as kid."""
    numbers = public_key.public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": _base64url(numbers.x.to_bytes(32, "big")),
        "y": _base64url(numbers.y.to_bytes(32, "big")),
    }
    return {**members, "kid": jwk_thumbprint(members), "alg": "ES256", "use": "sig"}


def jwk_thumbprint(members: dict[str, str]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an EC JWK's required members."""
    required = {name: members[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return _base64url(hashlib.sha256(canonical.encode()).digest())


def _read_key_file(path: Path, role: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BundleError(
            f"{role} not found: {path}; generate one with `python -m wasm keygen`"
        ) from None
    except IsADirectoryError:
        raise BundleError(f"{role} {path} is a directory, expected a PEM file") from None


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
