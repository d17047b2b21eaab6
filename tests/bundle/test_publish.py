"""Publishing to a versioned S3 bucket served by moto on 127.0.0.1."""

from __future__ import annotations

import base64
import functools
import io
import json
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.bundle.conftest import free_port, run_cli
from wasm.build import BuildResult
from wasm.errors import BundleError
from wasm.keys import KeyPair, load_private_key
from wasm.publish import PublishResult, publish_bundle

BUCKET = "bundles-local"
BUCKET_RULE = (
    "expected 3-63 lower-case letters, digits, '.' or '-', starting and ending with a "
    "letter or digit, without '..' and not an IP address, e.g. bundles-local\n"
)

Publish = Callable[..., PublishResult]


@pytest.fixture
def publish(keys: dict[str, KeyPair]) -> Publish:
    """publish_bundle with the session's signing public key."""
    return functools.partial(publish_bundle, public_key=keys["bundle-signing"].public_key)


def rewrite_bundle(source: Path, out: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a bundle tarball to out, passing each file through change; None drops it."""
    with tarfile.open(source, "r:gz") as archive, tarfile.open(out, "w:gz") as copy:
        for member in archive.getmembers():
            content = change(member.name.lstrip("/"), archive.extractfile(member).read())
            if content is None:
                continue
            member.size = len(content)
            copy.addfile(member, io.BytesIO(content))
    return out


def resign_bundle(source: Path, pair: KeyPair, out: Path) -> Path:
    """Copy a bundle with its signature replaced by one of the same files made with pair."""

    def replace_signature(name: str, content: bytes) -> bytes:
        if name != ".signatures.json":
            return content
        header, payload, _ = json.loads(content)["signatures"][0].split(".")
        signed = f"{header}.{payload}".encode()
        r, s = decode_dss_signature(
            load_private_key(pair.private_key).sign(signed, ec.ECDSA(hashes.SHA256()))
        )
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        signature = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return json.dumps({"signatures": [f"{header}.{payload}.{signature}"]}).encode()

    return rewrite_bundle(source, out, replace_signature)


def publish_cli(bundle: Path, public_key: Path, endpoint: str, *extra: str):
    return run_cli(
        "publish",
        str(bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--public-key",
        str(public_key),
        "--endpoint-url",
        endpoint,
        "--create-bucket",
        *extra,
    )


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
    publish: Publish, moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    result = publish(
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
    publish: Publish, moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    publish(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )

    assert s3(moto_endpoint).get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


@pytest.mark.usefixtures("aws_environment")
def test_second_publish_changes_current_etag(
    publish: Publish, moto_endpoint: str, sample_bundle: BuildResult, second_bundle: BuildResult
) -> None:
    first = publish(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    second = publish(second_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint)

    assert second.current_etag != first.current_etag
    assert object_bytes(moto_endpoint, second.current_key) == second_bundle.bundle.read_bytes()
    assert object_bytes(moto_endpoint, first.revision_key) == sample_bundle.bundle.read_bytes()
    assert len(versions_of(moto_endpoint, "bundles/authz/current/")) == 2


@pytest.mark.usefixtures("aws_environment")
def test_republish_same_revision_moves_pointer_only(
    publish: Publish, moto_endpoint: str, sample_bundle: BuildResult, second_bundle: BuildResult
) -> None:
    first = publish(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    publish(second_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint)

    rollback = publish(
        sample_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint
    )

    assert rollback.uploaded is False
    assert rollback.current_etag == first.current_etag
    assert len(versions_of(moto_endpoint, first.revision_key)) == 1


@pytest.mark.usefixtures("aws_environment")
def test_publish_rejects_changed_content_under_same_revision(
    publish: Publish, moto_endpoint: str, sample_bundle: BuildResult
) -> None:
    first = publish(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    # Stand in for a validly signed bundle with other policy or data under the same
    # revision: the stored object's content digest no longer matches this bundle's.
    s3(moto_endpoint).copy_object(
        Bucket=BUCKET,
        Key=first.revision_key,
        CopySource={"Bucket": BUCKET, "Key": first.revision_key},
        Metadata={"content-sha256": "0" * 64, "signature-sha256": "0" * 64},
        MetadataDirective="REPLACE",
    )

    with pytest.raises(BundleError) as raised:
        publish(sample_bundle.bundle, bucket=BUCKET, name="authz", endpoint_url=moto_endpoint)

    assert str(raised.value) == (
        f"revision {sample_bundle.revision} is already published at s3://{BUCKET}/bundles/authz/"
        f"{sample_bundle.revision}/bundle.tar.gz with different content; build with a new revision"
    )
    assert len(versions_of(moto_endpoint, "bundles/authz/current/")) == 1
    assert object_bytes(moto_endpoint, first.current_key) == sample_bundle.bundle.read_bytes()


@pytest.mark.usefixtures("aws_environment")
def test_publish_uploads_bundle_resigned_with_a_new_key(
    publish: Publish,
    moto_endpoint: str,
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
    tmp_path: Path,
) -> None:
    publish(
        sample_bundle.bundle,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        create_bucket=True,
    )
    resigned = resign_bundle(sample_bundle.bundle, keys["stranger"], tmp_path / "bundle.tar.gz")

    result = publish(
        resigned,
        bucket=BUCKET,
        name="authz",
        endpoint_url=moto_endpoint,
        public_key=keys["stranger"].public_key,
    )

    assert result.uploaded is True
    assert result.revision == sample_bundle.revision
    assert object_bytes(moto_endpoint, result.current_key) == resigned.read_bytes()
    assert len(versions_of(moto_endpoint, result.revision_key)) == 2


def test_cli_publish_rejects_bundle_with_edited_manifest(
    aws_environment: None,
    moto_endpoint: str,
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
    tmp_path: Path,
) -> None:
    edited = rewrite_bundle(
        sample_bundle.bundle,
        tmp_path / "bundle.tar.gz",
        lambda name, content: (
            content.replace(sample_bundle.revision.encode(), b"edited-revision")
            if name == ".manifest"
            else content
        ),
    )

    completed = publish_cli(edited, keys["bundle-signing"].public_key, moto_endpoint)

    assert completed.stderr.startswith(
        f"error: signature of {edited} does not verify with {keys['bundle-signing'].public_key}: "
    )
    assert ".manifest" in completed.stderr
    assert completed.stderr.count("\n") == 1
    assert completed.returncode == 2
    assert s3(moto_endpoint).list_buckets()["Buckets"] == []


def test_cli_publish_rejects_unsigned_bundle(
    aws_environment: None,
    moto_endpoint: str,
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
    tmp_path: Path,
) -> None:
    unsigned = rewrite_bundle(
        sample_bundle.bundle,
        tmp_path / "bundle.tar.gz",
        lambda name, content: None if name == ".signatures.json" else content,
    )

    completed = publish_cli(unsigned, keys["bundle-signing"].public_key, moto_endpoint)

    assert completed.stderr == (
        f"error: {unsigned} has no .signatures.json, so it is not signed; build it with "
        "`python -m wasm build`\n"
    )
    assert completed.returncode == 2
    assert s3(moto_endpoint).list_buckets()["Buckets"] == []


def test_publish_reads_endpoint_from_environment(
    publish: Publish,
    aws_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    sample_bundle: BuildResult,
) -> None:
    monkeypatch.setenv("BUNDLE_REPOSITORY_ENDPOINT", moto_endpoint)

    publish(sample_bundle.bundle, bucket=BUCKET, name="authz", create_bucket=True)

    assert "bundles/authz/current/bundle.tar.gz" in keys_in_bucket(moto_endpoint)


def test_cli_publish_prints_current_key(
    moto_endpoint: str, sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--public-key",
        str(keys["bundle-signing"].public_key),
        "--endpoint-url",
        moto_endpoint,
        "--create-bucket",
    )

    assert completed.stdout == f"s3://{BUCKET}/bundles/authz/current/bundle.tar.gz\n"
    assert completed.returncode == 0


def test_cli_publish_to_missing_bucket(
    aws_environment: None,
    moto_endpoint: str,
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
) -> None:
    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        "missing-bucket",
        "--name",
        "authz",
        "--public-key",
        str(keys["bundle-signing"].public_key),
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
    aws_environment: None,
    moto_endpoint: str,
    sample_bundle: BuildResult,
    keys: dict[str, KeyPair],
) -> None:
    s3(moto_endpoint).create_bucket(Bucket=BUCKET)

    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--public-key",
        str(keys["bundle-signing"].public_key),
        "--endpoint-url",
        moto_endpoint,
    )

    assert completed.stderr == (
        f"error: bucket {BUCKET} at {moto_endpoint} does not keep object versions (versioning "
        "never enabled); enable versioning on it, which the bundle repository requires\n"
    )
    assert completed.returncode == 2
    assert keys_in_bucket(moto_endpoint) == []


def test_cli_publish_to_unreachable_repository_fails_fast(
    sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    completed = run_cli(
        "publish",
        str(sample_bundle.bundle),
        "--bucket",
        BUCKET,
        "--name",
        "authz",
        "--public-key",
        str(keys["bundle-signing"].public_key),
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
        (
            ["BUNDLE", "--bucket", "Bad_Bucket", "--name", "authz"],
            "error: invalid bucket name 'Bad_Bucket': " + BUCKET_RULE,
        ),
        (
            ["BUNDLE", "--bucket", "b1", "--name", "authz"],
            "error: invalid bucket name 'b1': " + BUCKET_RULE,
        ),
        (
            ["BUNDLE", "--bucket", "192.168.1.10", "--name", "authz"],
            "error: invalid bucket name '192.168.1.10': " + BUCKET_RULE,
        ),
        (
            ["BUNDLE", "--bucket", BUCKET, "--name", "authz", "--endpoint-url", "notaurl"],
            "error: invalid --endpoint-url 'notaurl': expected an http or https URL with a "
            "host, e.g. http://127.0.0.1:30400\n",
        ),
        (
            ["BUNDLE", "--bucket", BUCKET, "--name", "authz", "--endpoint-url", "http://h:x"],
            "error: invalid --endpoint-url 'http://h:x': expected an http or https URL with a "
            "host, e.g. http://127.0.0.1:30400\n",
        ),
        (
            ["BUNDLE", "--bucket", BUCKET, "--name", "authz", "--key-id", "wrong"],
            "error: signature of BUNDLE names key id 'bundle-signing', not 'wrong'; pass "
            "--key-id bundle-signing if that is the key, or rebuild with --key-id wrong\n",
        ),
    ],
    ids=[
        "missing bundle file",
        "invalid bundle name",
        "bucket with capitals and underscore",
        "bucket too short",
        "bucket shaped like an IP address",
        "endpoint without scheme",
        "endpoint with a port that is not a number",
        "key id not in the signature",
    ],
)
def test_cli_publish_rejects_bad_arguments(
    arguments: list[str], expected: str, sample_bundle: BuildResult, keys: dict[str, KeyPair]
) -> None:
    arguments = [str(sample_bundle.bundle) if value == "BUNDLE" else value for value in arguments]
    if "--endpoint-url" not in arguments:
        arguments += ["--endpoint-url", f"http://127.0.0.1:{free_port()}"]
    completed = run_cli(
        "publish", *arguments, "--public-key", str(keys["bundle-signing"].public_key)
    )
    expected = expected.replace("BUNDLE", str(sample_bundle.bundle))

    assert completed.stderr == expected
    assert completed.returncode == 2
