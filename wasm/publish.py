"""Publish step: upload a signed bundle to the S3 bundle repository and move the pointer.

Each revision goes to its own immutable key, bundles/NAME/REVISION/bundle.tar.gz, and
bundles/NAME/current/bundle.tar.gz becomes a server-side copy of it. The agents poll
the current key, and its ETag changes whenever its content does, so OPA's conditional
download picks up a new revision without a restart. The endpoint is configuration:
absent for AWS S3, or a URL such as the local region's moto server.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from wasm import layout
from wasm.errors import BundleError
from wasm.signing import (
    DEFAULT_SIGNING_KEY_ID,
    content_digest,
    read_manifest,
    signature_digest,
    verify_bundle,
)

log = logging.getLogger(__name__)

ENDPOINT_ENVIRONMENT_VARIABLE = "BUNDLE_REPOSITORY_ENDPOINT"

# An unreachable repository fails in seconds: at most 2 attempts, each with a 3 s
# connect timeout and a 10 s read timeout.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 2

# S3's general purpose bucket naming rules: 3-63 lower-case letters, digits, '.' or '-',
# starting and ending with a letter or digit, no "..", not shaped like an IP address.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKET_NAME_RULE = (
    "expected 3-63 lower-case letters, digits, '.' or '-', starting and ending with a "
    "letter or digit, without '..' and not an IP address, e.g. bundles-local"
)

CONTENT_DIGEST_METADATA = "content-sha256"
SIGNATURE_DIGEST_METADATA = "signature-sha256"
UNREACHABLE_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


@dataclass(frozen=True)
class PublishResult:
    """Outcome of a publish: the revision's key and version, and the pointer's new ETag."""

    bucket: str
    revision: str
    revision_key: str
    revision_version_id: str | None
    current_key: str
    current_etag: str
    uploaded: bool


def s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """Return a boto3 S3 client with bounded retries and timeouts."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def repository_endpoint(endpoint_url: str | None = None) -> str | None:
    """Return endpoint_url, else $BUNDLE_REPOSITORY_ENDPOINT, else None for AWS S3.

    Raise BundleError if the endpoint is not an http or https URL with a host.
    """
    if endpoint_url:
        source = "--endpoint-url"
    else:
        endpoint_url = os.environ.get(ENDPOINT_ENVIRONMENT_VARIABLE) or None
        source = f"${ENDPOINT_ENVIRONMENT_VARIABLE}"
    if endpoint_url is None:
        return None
    try:
        parts = urlsplit(endpoint_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BundleError(
            f"invalid {source} {endpoint_url!r}: expected an http or https URL with a host, "
            "e.g. http://127.0.0.1:30400"
        )
    return endpoint_url


def check_bucket_name(bucket: str) -> str:
    """Return bucket if S3 accepts it as a bucket name, or raise BundleError."""
    ip_shaped = True
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        ip_shaped = False
    if not BUCKET_NAME.match(bucket) or ".." in bucket or ip_shaped:
        raise BundleError(f"invalid bucket name {bucket!r}: {BUCKET_NAME_RULE}")
    return bucket


def publish_bundle(
    bundle: Path,
    *,
    bucket: str,
    name: str,
    public_key: Path,
    key_id: str = DEFAULT_SIGNING_KEY_ID,
    endpoint_url: str | None = None,
    region: str | None = None,
    create_bucket: bool = False,
) -> PublishResult:
    """Upload bundle as its manifest's revision, then point the current key at it.

    The bundle's signature must verify with public_key under key_id before any request
    reaches the repository, so an edited or unsigned bundle never becomes current.
    Publishing a revision that the bucket already contains with the same content only
    moves the pointer. The same revision with different content is an error, because
    revision keys never change once written. With create_bucket, a missing bucket is
    created with versioning on. Any other bucket must already keep versions.
    """
    layout.check_bundle_name(name)
    check_bucket_name(bucket)
    endpoint = repository_endpoint(endpoint_url)
    verify_bundle(bundle, public_key, key_id=key_id)
    revision = _manifest_revision(bundle)
    digests = {
        CONTENT_DIGEST_METADATA: content_digest(bundle),
        SIGNATURE_DIGEST_METADATA: signature_digest(bundle),
    }
    where = endpoint or "the AWS S3 endpoint"
    client = s3_client(endpoint, region)
    immutable_key = layout.revision_key(name, revision)
    pointer_key = layout.current_key(name)

    with _repository_errors(bucket, where):
        _ensure_bucket(client, bucket, where, region, create_bucket)
        version_id, uploaded = _put_revision(
            client, bucket, immutable_key, bundle, digests, revision
        )
        client.copy_object(
            Bucket=bucket,
            Key=pointer_key,
            CopySource={"Bucket": bucket, "Key": immutable_key, "VersionId": version_id}
            if version_id
            else {"Bucket": bucket, "Key": immutable_key},
            MetadataDirective="COPY",
        )
        current_etag = client.head_object(Bucket=bucket, Key=pointer_key)["ETag"]
    log.info(
        "publish: s3://%s/%s is now revision %s (ETag %s)",
        bucket,
        pointer_key,
        revision,
        current_etag,
    )
    return PublishResult(
        bucket=bucket,
        revision=revision,
        revision_key=immutable_key,
        revision_version_id=version_id,
        current_key=pointer_key,
        current_etag=current_etag,
        uploaded=uploaded,
    )


def _manifest_revision(bundle: Path) -> str:
    revision = read_manifest(bundle).get("revision")
    if not isinstance(revision, str) or not revision:
        raise BundleError(f"{bundle} has no revision in its .manifest; rebuild it")
    return layout.check_revision(revision)


def _ensure_bucket(client: Any, bucket: str, where: str, region: str | None, create: bool) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if _error_code(error) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        if not create:
            raise BundleError(
                f"bucket {bucket} not found at {where}; create it with versioning on, "
                "or pass --create-bucket"
            ) from None
        arguments: dict[str, Any] = {"Bucket": bucket}
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(**arguments)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        log.info("publish: created bucket %s at %s with versioning on", bucket, where)
        return
    status = client.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    if status != "Enabled":
        raise BundleError(
            f"bucket {bucket} at {where} does not keep object versions (versioning {status}); "
            "enable versioning on it, which the bundle repository requires"
        )


def _put_revision(
    client: Any, bucket: str, key: str, bundle: Path, digests: dict[str, str], revision: str
) -> tuple[str | None, bool]:
    # The policy and data of a revision never change once written. Its signature may:
    # a bundle re-signed with a new key is uploaded as a new version of the same key,
    # so agents that trust only the new key get a bundle they accept.
    try:
        existing = client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _error_code(error) not in {"404", "NoSuchKey", "NotFound"}:
            raise
        existing = None
    if existing is not None:
        metadata = existing.get("Metadata", {})
        if metadata.get(CONTENT_DIGEST_METADATA) != digests[CONTENT_DIGEST_METADATA]:
            raise BundleError(
                f"revision {revision} is already published at s3://{bucket}/{key} with "
                "different content; build with a new revision"
            )
        if metadata.get(SIGNATURE_DIGEST_METADATA) == digests[SIGNATURE_DIGEST_METADATA]:
            log.info("publish: s3://%s/%s already exists with this content", bucket, key)
            return existing.get("VersionId"), False
        log.info("publish: s3://%s/%s has this content with another signature", bucket, key)
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=bundle.read_bytes(),
        ContentType="application/gzip",
        Metadata={**digests, "revision": revision},
    )
    log.info("publish: uploaded s3://%s/%s (version %s)", bucket, key, response.get("VersionId"))
    return response.get("VersionId"), True


@contextmanager
def _repository_errors(bucket: str, where: str) -> Iterator[None]:
    try:
        yield
    except UNREACHABLE_ERRORS as error:
        raise BundleError(f"bundle repository at {where} cannot be reached: {error}") from None
    except NoCredentialsError:
        raise BundleError(
            f"no AWS credentials for the bundle repository at {where}; set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        ) from None
    except ClientError as error:
        raise BundleError(
            f"bundle repository at {where} rejected a request on bucket {bucket}: "
            f"{_error_code(error)} {error.response.get('Error', {}).get('Message', '')}".rstrip()
        ) from None
    except BotoCoreError as error:
        raise BundleError(f"bundle repository at {where} failed: {error}") from None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
