"""The configuration and command line of the policy agent, the OPA runtime of each pod.

The agent downloads signed bundles from the bundle repository in the background (I2),
activates only a bundle whose signature verifies (I4), persists the last one it activated
and starts from it when the repository is unreachable (I5), and answers the sidecar's
ext_authz calls from the bundle's WebAssembly module (I3).
"""

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from components.sidecar.errors import SpecError
from components.sidecar.validation import (
    check_absolute_path,
    check_int_range,
    is_loopback,
    parse_endpoint,
)

REPOSITORY_SERVICE = "bundle_repository"
PLUGIN = "envoy_ext_authz_wasm"
SIGNING_ALGORITHM = "ES256"
GCS_READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
_BUNDLE_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_S3_CREDENTIALS = ("environment", "web_identity")
_PEM_HEADER = "-----BEGIN PUBLIC KEY-----"
# OPA's named inter-query value cache in which io.jwt.decode_verify keeps tokens whose
# signature it checked. OPA v1.22.4 leaves it off unless the configuration sizes it.
VERIFIED_TOKEN_CACHE = "io_jwt"
MAX_VERIFIED_TOKEN_CACHE_ENTRIES = 1_000_000


def bundle_object_key(bundle_name: str, revision: str = "current") -> str:
    """Return the object key of a bundle version in the repository bucket."""
    return f"bundles/{bundle_name}/{revision}/bundle.tar.gz"


@dataclass(frozen=True)
class S3Repository:
    """A bundle repository in an S3 bucket (or an S3 API on loopback).

    `url` is the bucket's endpoint: `https://BUCKET.s3.REGION.amazonaws.com`, or path style
    `http://127.0.0.1:PORT/BUCKET` for a local S3 server. `credentials` is "environment"
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION) or "web_identity" (the IRSA
    variables AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE).
    """

    url: str
    credentials: str = "environment"
    aws_region: str = ""
    session_name: str = "policy-agent"

    def __post_init__(self) -> None:
        _check_repository_url("S3Repository", self.url)
        if self.credentials not in _S3_CREDENTIALS:
            raise SpecError(
                "S3Repository", "credentials", self.credentials, " or ".join(_S3_CREDENTIALS)
            )
        if self.aws_region and not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", self.aws_region):
            raise SpecError(
                "S3Repository", "aws_region", self.aws_region, "an AWS region such as 'eu-west-1'"
            )

    def service(self) -> dict:
        if self.credentials == "environment":
            signing = {"environment_credentials": {}}
        else:
            identity = {"session_name": self.session_name}
            if self.aws_region:
                identity["aws_region"] = self.aws_region
            signing = {"web_identity_credentials": identity}
        return {"url": self.url, "credentials": {"s3_signing": signing}}

    def resource(self, bundle_name: str) -> str:
        return bundle_object_key(bundle_name)


@dataclass(frozen=True)
class GcsRepository:
    """A bundle repository in a Cloud Storage bucket, read with the pod's workload identity.

    The agent gets an OAuth access token for `scopes` from the GKE metadata server.
    """

    bucket: str
    scopes: tuple[str, ...] = (GCS_READ_ONLY_SCOPE,)

    def __post_init__(self) -> None:
        if not isinstance(self.bucket, str) or not re.match(
            r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", self.bucket
        ):
            raise SpecError("GcsRepository", "bucket", self.bucket, "a Cloud Storage bucket name")
        if not self.scopes or not all(
            isinstance(s, str) and s.startswith("https://") for s in self.scopes
        ):
            raise SpecError("GcsRepository", "scopes", self.scopes, "a list of OAuth scope URLs")

    def service(self) -> dict:
        return {
            "url": f"https://storage.googleapis.com/storage/v1/b/{self.bucket}/o",
            "credentials": {"gcp_metadata": {"scopes": list(self.scopes)}},
        }

    def resource(self, bundle_name: str) -> str:
        # The JSON API names an object by its URL-encoded key, and ?alt=media returns its
        # content instead of its metadata.
        return quote(bundle_object_key(bundle_name), safe="") + "?alt=media"


@dataclass(frozen=True)
class AgentSpec:
    """The policy agent of one pod.

    `authz_address` is where the ext_authz plugin listens (`127.0.0.1:PORT` or
    `unix:///path.sock`) and must equal the sidecar's `agent_address`. `http_address`
    serves OPA's REST API and stays on loopback; `diagnostic_address` serves /health and
    /metrics and may bind the pod address so that probes and Prometheus reach it.

    `verified_token_cache_entries` is how many tokens io.jwt.decode_verify remembers
    after checking their signature, so that a caller's next request with the same token
    skips the ES256 verification; 0 turns the cache off. The claims (exp, nbf, iss, aud)
    are still checked on every decision. A full cache evicts entries, which costs CPU
    but never changes a decision.
    """

    bundle_name: str
    repository: S3Repository | GcsRepository
    signing_key_id: str
    signing_public_key_pem: str
    persistence_directory: str
    authz_address: str
    http_address: str = "127.0.0.1:8181"
    diagnostic_address: str = "127.0.0.1:8282"
    authz_path: str = "envoy/authz/result"
    polling_min_delay_seconds: int = 10
    polling_max_delay_seconds: int = 20
    decision_logs_console: bool = True
    status_console: bool = True
    verified_token_cache_entries: int = 1_000
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.bundle_name, str) or not _BUNDLE_NAME.match(self.bundle_name):
            raise SpecError(
                name, "bundle_name", self.bundle_name, "lower-case letters, digits, '.', '_', '-'"
            )
        if not isinstance(self.repository, S3Repository | GcsRepository):
            raise SpecError(name, "repository", self.repository, "S3Repository or GcsRepository")
        if not isinstance(self.signing_key_id, str) or not _KEY_ID.match(self.signing_key_id):
            raise SpecError(
                name, "signing_key_id", self.signing_key_id, "letters, digits, '.', '_', '-'"
            )
        if not isinstance(self.signing_public_key_pem, str) or not (
            self.signing_public_key_pem.strip().startswith(_PEM_HEADER)
        ):
            shown = str(self.signing_public_key_pem)[:40]
            raise SpecError(
                name, "signing_public_key_pem", shown, f"a PEM public key starting {_PEM_HEADER}"
            )
        check_absolute_path(name, "persistence_directory", self.persistence_directory)
        parse_endpoint(name, "authz_address", self.authz_address, loopback_only=True)
        http = parse_endpoint(name, "http_address", self.http_address, loopback_only=True)
        if http.is_unix:
            raise SpecError(name, "http_address", self.http_address, "'127.0.0.1:PORT'")
        diagnostic = parse_endpoint(
            name, "diagnostic_address", self.diagnostic_address, loopback_only=False
        )
        if diagnostic.is_unix:
            raise SpecError(name, "diagnostic_address", self.diagnostic_address, "'HOST:PORT'")
        if not isinstance(self.authz_path, str) or not re.match(
            r"^[a-z_][a-z0-9_]*(/[a-z_][a-z0-9_]*)*$", self.authz_path
        ):
            raise SpecError(
                name, "authz_path", self.authz_path, "a rule path such as 'envoy/authz/result'"
            )
        check_int_range(
            name, "polling_min_delay_seconds", self.polling_min_delay_seconds, 1, 3_600, "s"
        )
        check_int_range(
            name,
            "polling_max_delay_seconds",
            self.polling_max_delay_seconds,
            self.polling_min_delay_seconds,
            3_600,
            "s, at least polling_min_delay_seconds",
        )
        check_int_range(
            name,
            "verified_token_cache_entries",
            self.verified_token_cache_entries,
            0,
            MAX_VERIFIED_TOKEN_CACHE_ENTRIES,
            "tokens, 0 to turn the cache off",
        )
        if not isinstance(self.labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.labels.items()
        ):
            raise SpecError(name, "labels", self.labels, "a map of strings to strings")


def agent_config(spec: AgentSpec) -> dict:
    """Build the OPA configuration file of the policy agent."""
    config = {
        "labels": dict(spec.labels),
        "services": {REPOSITORY_SERVICE: spec.repository.service()},
        "bundles": {
            spec.bundle_name: {
                "service": REPOSITORY_SERVICE,
                "resource": spec.repository.resource(spec.bundle_name),
                "persist": True,
                "polling": {
                    "min_delay_seconds": spec.polling_min_delay_seconds,
                    "max_delay_seconds": spec.polling_max_delay_seconds,
                },
                "signing": {"keyid": spec.signing_key_id},
            }
        },
        "keys": {
            spec.signing_key_id: {
                "key": spec.signing_public_key_pem,
                "algorithm": SIGNING_ALGORITHM,
            }
        },
        "persistence_directory": spec.persistence_directory,
        "decision_logs": {"console": spec.decision_logs_console},
        "status": {"console": spec.status_console},
        "plugins": {
            PLUGIN: {
                "addr": spec.authz_address,
                "path": spec.authz_path,
                "enable_reflection": False,
            }
        },
    }
    if spec.verified_token_cache_entries:
        config["caching"] = verified_token_caching(spec.verified_token_cache_entries)
    return config


def verified_token_caching(max_entries: int) -> dict:
    """Build OPA's caching section that keeps up to max_entries verified tokens."""
    return {
        "inter_query_builtin_value_cache": {
            "named": {VERIFIED_TOKEN_CACHE: {"max_num_entries": max_entries}}
        }
    }


def agent_args(spec: AgentSpec, config_file: str) -> list[str]:
    """Build the agent's arguments, without the binary, as a Kubernetes container takes them.

    The version check is off on the command line, because it would otherwise call an
    address outside the cell. OPA v1.22.4 names the flag --skip-version-check and still
    accepts the deprecated --disable-telemetry, so both are passed.
    """
    check_absolute_path("agent_args", "config_file", config_file)
    return [
        "run",
        "--server",
        "--skip-version-check",
        "--disable-telemetry",
        "--addr",
        spec.http_address,
        "--diagnostic-addr",
        spec.diagnostic_address,
        "--config-file",
        config_file,
    ]


def _check_repository_url(spec: str, url: object) -> None:
    accepted = "an https:// URL, or http:// on a loopback address"
    if not isinstance(url, str):
        raise SpecError(spec, "url", url, accepted)
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise SpecError(spec, "url", url, accepted)
