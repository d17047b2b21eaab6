"""The bundle's data document: routes, revoked callers, health paths, residency, issuers.

The routes table is a JSON file such as policies/authz/data.sample.json. The issuer
public keys are added at build time, because the local region generates its issuer
key at bring-up. Every value is checked here, so a typo fails the build and names its
key, instead of silently denying requests in the cells.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasm.errors import BundleError
from wasm.keys import load_public_key, public_jwk

# The same canonical form that policies/authz/path.rego accepts for request paths.
CANONICAL_PATH = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,=:@-]+)+$")
DOT_SEGMENT = re.compile(r"^\.+$")
CANONICAL_PATH_HINT = (
    "expected / or a path such as /v1/orders: segments of letters, digits and "
    "-._~!$&'()*+,=:@ without '%', ';', empty or all-dot segments, or a trailing slash"
)

# RFC 9110 section 9 methods, and PATCH from RFC 5789.
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

KNOWN_KEYS = frozenset({"routes", "revoked", "health_paths", "residency", "issuers"})


@dataclass(frozen=True)
class Issuer:
    """A token issuer that the policy trusts: its iss and aud claims and public keys.

    More than one public key lets tokens signed with the old key verify during a key
    rotation.
    """

    iss: str
    aud: str
    public_keys: tuple[Path, ...]

    def to_data(self) -> dict[str, Any]:
        """Return the issuer as an entry of data.authz.issuers, its keys as a JWK set."""
        if not self.iss or not self.aud:
            raise BundleError("token issuer needs a non-empty iss and aud")
        if not self.public_keys:
            raise BundleError(f"token issuer {self.iss} has no public key")
        keys = [public_jwk(load_public_key(path, role="issuer key")) for path in self.public_keys]
        return {"iss": self.iss, "aud": self.aud, "jwks": {"keys": keys}}


def load_data_file(path: Path) -> dict[str, Any]:
    """Read a JSON routes table of the form {"authz": {...}}."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BundleError(f"data file not found: {path}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("authz"), dict):
        raise BundleError(f'{path}: expected a JSON object with an "authz" object at the top')
    return document


def authz_data(
    document: Mapping[str, Any],
    issuers: Sequence[Issuer] = (),
    *,
    source: str = "data",
) -> dict[str, Any]:
    """Check a {"authz": {...}} document and return it with the issuers' keys added.

    Issuers given here replace the document's own "issuers". source names the document
    in error messages, for example its file path.
    """
    authz = document.get("authz")
    if not isinstance(authz, Mapping):
        raise BundleError(f'{source}: expected an "authz" object')
    unknown = sorted(set(authz) - KNOWN_KEYS)
    if unknown:
        raise BundleError(
            f"{source}: unknown key authz.{unknown[0]}; expected {', '.join(sorted(KNOWN_KEYS))}"
        )
    checked = {
        "routes": _check_routes(authz.get("routes"), source),
        "revoked": _check_names(authz.get("revoked", []), "authz.revoked", source),
        "health_paths": _check_health_paths(authz.get("health_paths"), source),
        "residency": _check_residency(authz.get("residency", {}), source),
    }
    if issuers:
        checked["issuers"] = [issuer.to_data() for issuer in issuers]
    else:
        checked["issuers"] = _check_issuers(authz.get("issuers", []), source)
    if not checked["issuers"]:
        raise BundleError(
            f"{source}: no token issuer, so the bundle would reject every token; "
            "pass an issuer public key (--issuer-key)"
        )
    names = [entry["iss"] for entry in checked["issuers"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise BundleError(f"{source}: issuer {duplicates[0]} is listed more than once")
    return {"authz": checked}


def _check_routes(routes: Any, source: str) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(routes, Mapping) or not routes:
        raise BundleError(f"{source}: authz.routes must be a non-empty object of caller -> routes")
    checked: dict[str, list[dict[str, Any]]] = {}
    for caller, caller_routes in routes.items():
        where = f"authz.routes.{caller}"
        if not caller:
            raise BundleError(f"{source}: authz.routes has an empty caller name")
        if not isinstance(caller_routes, list) or not caller_routes:
            raise BundleError(f"{source}: {where} must be a non-empty list of routes")
        checked[caller] = [
            _check_route(route, f"{where}[{index}]", source)
            for index, route in enumerate(caller_routes)
        ]
    return checked


def _check_route(route: Any, where: str, source: str) -> dict[str, Any]:
    if not isinstance(route, Mapping) or set(route) != {"methods", "path_prefix"}:
        raise BundleError(
            f'{source}: {where} must be an object with exactly "methods" and "path_prefix"'
        )
    methods = route["methods"]
    if not isinstance(methods, list) or not methods:
        raise BundleError(f"{source}: {where}.methods must be a non-empty list")
    for method in methods:
        if method not in HTTP_METHODS:
            raise BundleError(
                f"{source}: {where}.methods has {method!r}; expected upper-case HTTP "
                f"methods: {', '.join(sorted(HTTP_METHODS))}"
            )
    path_prefix = route["path_prefix"]
    _check_path(path_prefix, f"{where}.path_prefix", source)
    return {"methods": list(methods), "path_prefix": path_prefix}


def _check_health_paths(paths: Any, source: str) -> list[str]:
    if not isinstance(paths, list) or not paths:
        raise BundleError(f"{source}: authz.health_paths must be a non-empty list of paths")
    for index, path in enumerate(paths):
        _check_path(path, f"authz.health_paths[{index}]", source)
    return list(paths)


def _check_path(path: Any, where: str, source: str) -> None:
    if path == "/":
        return
    canonical = isinstance(path, str) and CANONICAL_PATH.match(path)
    if not canonical or any(DOT_SEGMENT.match(segment) for segment in path.split("/")[1:]):
        raise BundleError(f"{source}: {where} is {path!r}; {CANONICAL_PATH_HINT}")


def _check_names(names: Any, where: str, source: str) -> list[str]:
    if not isinstance(names, list):
        raise BundleError(f"{source}: {where} must be a list of names")
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise BundleError(
                f"{source}: {where}[{index}] is {name!r}; expected a non-empty string"
            )
    return list(names)


def _check_residency(residency: Any, source: str) -> dict[str, list[str]]:
    if not isinstance(residency, Mapping):
        raise BundleError(
            f"{source}: authz.residency must be an object of tag -> jurisdictions, "
            'e.g. {"eu": ["eu"]}'
        )
    return {
        tag: _check_names(jurisdictions, f"authz.residency.{tag}", source)
        for tag, jurisdictions in residency.items()
    }


def _check_issuers(issuers: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(issuers, list):
        raise BundleError(f"{source}: authz.issuers must be a list")
    for index, issuer in enumerate(issuers):
        where = f"authz.issuers[{index}]"
        if not isinstance(issuer, Mapping) or set(issuer) != {"iss", "aud", "jwks"}:
            raise BundleError(f'{source}: {where} must have exactly "iss", "aud" and "jwks"')
        keys = issuer["jwks"].get("keys") if isinstance(issuer["jwks"], Mapping) else None
        if not isinstance(keys, list) or not keys:
            raise BundleError(f'{source}: {where}.jwks must be a JWK set: {{"keys": [...]}}')
    return list(issuers)
