"""Publishing to a versioned S3 bucket served by moto on 127.0.0.1."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import boto3
import pytest

from tests.bundle.conftest import free_port, run_cli
from wasm.build import BuildResult
from wasm.errors import BundleError
from wasm.publish import publish_bundle

BUCKET = "bundles-local"


def s3(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def object_bytes(endpoint: str, key: str) -> bytes:
    return s3(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys_in_bucket(endpoint: str) -> list[str]:
    listing = s3(endpoint).list_objects_v2(Bucket=BUCKET)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


def versions_of(endpoint: str, key: str) -> list[str]:
    listing = s3(endpoint).list_object_versions(Bucket=BUCKET, Prefix=key)
    return [version["VersionId"] for version in listing.get("Versions", [])]


@pytest.mark.usefixtures("aws_environment")
def test_publish_puts_revision_and_current_keys(
    moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    result = publish_bundle(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )

    revision_key = f"bundles/authz/{sample_bundle.revision}/bundle.tar.gz"
    # keys_in_bucket sorts, and the revision is a hex digest that sorts either side of
    # "current", so the expected keys are sorted too.
    assert keys_in_bucket(moto_endpoint) == sorted(
        [revision_key, "bundles/authz/current/bundle.tar.gz"]
    )
    assert result.revision_key == revision_key
    assert result.current_key == "bundles/authz/current/bundle.tar.gz"
    assert result.uploaded is True
    assert object_bytes(moto_endpoint, revision_key) == sample_bundle.bundle.read_bytes()
    assert object_bytes(moto_endpoint, result.current_key) == sample_bundle.bundle.read_bytes()


@pytest.mark.usefixtures("aws_environment")
def test_publish_creates_bucket_with_versioning(
    moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    publish_bundle(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )

    assert s3(moto_endpoint).get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


@pytest.mark.usefixtures("aws_environment")
def test_second_publish_changes_current_etag(
    moto_endpoint: str, sample_bundle: BuildResult, second_bundle: BuildResult
) -> None:
    first = publish_bundle(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    second = publish_bundle(
        second_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint
    )

    assert second.current_etag != first.current_etag
    assert object_bytes(moto_endpoint, second.current_key) == second_bundle.bundle.read_bytes()
    assert object_bytes(moto_endpoint, first.revision_key) == sample_bundle.bundle.read_bytes()
    assert len(versions_of(moto_endpoint, "bundles/authz/current/")) == 2


@pytest.mark.usefixtures("aws_environment")
def test_republish_same_revision_moves_pointer_only(
    moto_endpoint: str, sample_bundle: BuildResult, second_bundle: BuildResult
) -> None:
    first = publish_bundle(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    publish_bundle(second_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint)

    rollback = publish_bundle(
        sample_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint
    )

    assert rollback.uploaded is False
    assert rollback.current_etag == first.current_etag
    assert len(versions_of(moto_endpoint, first.revision_key)) == 1


@pytest.mark.usefixtures("aws_environment")
def test_publish_rejects_changed_content_under_same_revision(
    moto_endpoint: str, sample_bundle: BuildResult, tmp_path: Path
) -> None:
    publish_bundle(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    forged = tmp_path / "bundle.tar.gz"
    with tarfile.open(sample_bundle.bundle, "r:gz") as source, tarfile.open(forged, "w:gz") as out:
        for member in source.getmembers():
            content = source.extractfile(member).read()
            if member.name.endswith("data.json"):
                data = json.loads(content)
                data["authz"]["revoked"] = []
                content = json.dumps(data).encode()
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))

    with pytest.raises(BundleError) as raised:
        publish_bundle(forged, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint)

    assert str(raised.value) == (
        f"revision {sample_bundle.revision} is already published at s3://{BUCKET}/bundles/authz/"
        f"{sample_bundle.revision}/bundle.tar.gz with different content; build with a new revision"
    )
    assert object_bytes(moto_endpoint, "bundles/authz/current/bundle.tar.gz") == (
        sample_bundle.bundle.read_bytes()
    )


def test_publish_reads_endpoint_from_environment(
    aws_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    sample_bundle: BuildResult,
) -> None:
    monkeypatch.setenv("BUNDLE_REPOSITORY_ENDPOINT", moto_endpoint)

    publish_bundle(sample_bundle.bundle, bucket=BUCKET, name="authz", create_bucket=True)

    assert "bundles/authz/current/bundle.tar.gz" in keys_in_bucket(moto_endpoint)


def test_cli_publish_prints_current_key(moto_endpoint: str, sample_bundle: BuildResult) -> None:
    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--endpoint-url",
        moto_endpoint,
        "--create-bucket",
    )

    assert completed.stdout == f"s3://{BUCKET}/bundles/authz/current/bundle.tar.gz\n"
    assert completed.returncode == 0


def test_cli_publish_to_missing_bucket(
    aws_environment: None, moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        "missing-bucket",
        "--name",
        "authz",
        "--endpoint-url",
        moto_endpoint,
    )

    assert completed.stderr == (
        f"error: bucket missing-bucket not found at {moto_endpoint}; create it with "
        "versioning on, or pass --create-bucket\n"
    )
    assert completed.returncode == 2
    assert s3(moto_endpoint).list_buckets()["Buckets"] == []


def test_cli_publish_to_unversioned_bucket(
    aws_environment: None, moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    s3(moto_endpoint).create_bucket(Bucket=BUCKET)

    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--endpoint-url",
        moto_endpoint,
    )

    assert completed.stderr == (
        f"error: bucket {BUCKET} at {moto_endpoint} does not keep object versions (versioning "
        "never enabled); enable versioning on it, which the bundle repository requires\n"
    )
    assert completed.returncode == 2
    assert keys_in_bucket(moto_endpoint) == []


def test_cli_publish_to_unreachable_repository_fails_fast(sample_bundle: BuildResult) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--endpoint-url",
        endpoint,
        "--create-bucket",
    )

    elapsed = time.monotonic() - started
    assert completed.stderr == (
        f"error: bundle repository at {endpoint} cannot be reached: Could not connect to the "
        f'endpoint URL: "{endpoint}/{BUCKET}"\n'
    )
    assert completed.returncode == 2
    assert elapsed < 15


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["missing.tar.gz", "--bucket", BUCKET, "--name", "authz"],
            "error: bundle not found: missing.tar.gz\n",
        ),
        (
            ["BUNDLE", "--bucket", BUCKET, "--name", "Authz"],
            "error: invalid bundle name 'Authz': expected 1-63 lower-case letters, digits or "
            "'-', not starting or ending with '-', e.g. authz\n",
        ),
    ],
    ids=["missing bundle file", "invalid bundle name"],
)
def test_cli_publish_rejects_bad_arguments(
    arguments: list[str], expected: str, sample_bundle: BuildResult
) -> None:
    arguments = [str(sample_bundle.bundle) if value == "BUNDLE" else value for value in arguments]
    completed = run_cli("publish", *arguments, "--endpoint-url", f"http://127.0.0.1:{free_port()}")

    assert completed.stderr == expected
    assert completed.returncode == 2
