"""Bearer tokens built to be rejected: forged, re-signed or stitched from valid ones.

The local region mints well-formed tokens (valid, expired, wrong audience, unknown key).
These are the ones no honest issuer would mint, built from a valid token and the issuer's
public key, which is all an attacker has.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _encode(segment: bytes) -> str:
    return base64.urlsafe_b64encode(segment).rstrip(b"=").decode("ascii")


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def claims_of(token: str) -> dict:
    """Return the claims of a compact JWT without verifying it."""
    return json.loads(_decode(token.split(".")[1]))


def unsigned(token: str) -> str:
    """Return the token's claims under {"alg": "none"} with an empty signature."""
    header = _encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{token.split('.')[1]}."


def hmac_with_public_key(token: str, public_key_pem: bytes) -> str:
    """Return the token's claims signed HS256 with the issuer's public key as the secret.

    This is the algorithm-confusion attack: a verifier that lets the token pick its
    algorithm and uses the configured public key as an HMAC secret would accept it.
    """
    secret = public_key_pem
    header = _encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{token.split('.')[1]}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_encode(signature)}"


def swapped_claims(token: str, claims_token: str) -> str:
    """Return token's header and signature around the claims of claims_token."""
    header, _, signature = token.split(".")
    return f"{header}.{claims_token.split('.')[1]}.{signature}"
