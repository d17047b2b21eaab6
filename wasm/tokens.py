"""Caller tokens: ES256 JWTs that the policy verifies with io.jwt.decode_verify."""

from __future__ import annotations

import time
from pathlib import Path

import jwt

from wasm.errors import BundleError
from wasm.keys import load_private_key, public_jwk

# Defaults of the local region. In a cloud region, iss and aud name the workload
# identity provider and the cells' audience instead.
DEFAULT_ISSUER = "local-region"
DEFAULT_AUDIENCE = "cell-services"
DEFAULT_TOKEN_TTL_SECONDS = 3600


def mint_token(
    issuer_key: Path,
    *,
    subject: str,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS,
    now: int | None = None,
) -> str:
    """Sign a token for the caller subject with the issuer's private key.

    The token carries sub, iss, aud, iat and exp (iat + ttl_seconds), and its header
    names the key by its JWK thumbprint, the kid that the bundle's JWK set lists. now
    is a Unix time in seconds, the current time by default.
    """
    if not subject:
        raise BundleError("token subject is empty; pass the caller name, e.g. orders-web")
    if ttl_seconds <= 0:
        raise BundleError(f"token lifetime is {ttl_seconds} s; expected a positive number")
    private_key = load_private_key(issuer_key, role="issuer key")
    issued_at = int(time.time()) if now is None else now
    claims = {
        "sub": subject,
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    key_id = public_jwk(private_key.public_key())["kid"]
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": key_id})
