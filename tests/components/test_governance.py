"""GovernancePlane: the bundle bucket, the signing key pair, the first bundle, cell readers.

The bucket and key tests read the reference program's recordings of the shipped stacks. The
bundle's content is checked on the tarball that the update mode built and signed with OPA.
"""

import json
import tarfile

import pulumi
import pulumi_aws as aws
import pytest
from cell_harness import PUBLIC_KEY_PEM
from program_harness import CELLS_OF_STACK, CLOUD_OF_STACK, STACK_MODES, known, run_stack

from components.errors import ConfigError
from components.governance import GovernancePlane, GovernancePlaneArgs, TokenIssuerArgs
from offline import UNKNOWN, ProgramFailed, run_program
from offline.recorder import STACK_TYPE

CURRENT_KEY = "bundles/authz/current/bundle.tar.gz"


AWS_MODES = [p for p in STACK_MODES if CLOUD_OF_STACK[p.values[0][0]] == "aws"]
GCP_MODES = [p for p in STACK_MODES if CLOUD_OF_STACK[p.values[0][0]] == "gcp"]


@pytest.fixture(scope="module", params=STACK_MODES)
def run(request):
    stack, preview = request.param
    return stack, preview, run_stack(stack, preview)


@pytest.fixture(scope="module", params=AWS_MODES)
def aws_run(request):
    stack, preview = request.param
    return stack, preview, run_stack(stack, preview)


@pytest.fixture(scope="module", params=GCP_MODES)
def gcp_run(request):
    stack, preview = request.param
    return stack, preview, run_stack(stack, preview)


def _governance(recording):
    (plane,) = recording.of_type("cellarch:index:GovernancePlane")
    return plane, recording.children(plane.urn)


def _one(resources, type_):
    (found,) = [r for r in resources if r.type == type_]
    return found


def test_every_child_is_parented_to_the_plane(run):
    stack, _, recording = run
    plane, children = _governance(recording)
    expected = 11 if CLOUD_OF_STACK[stack] == "aws" else 7
    assert len(children) == expected
    assert recording.descendants(plane.urn) == children
    assert plane.output_registrations == 1


def test_s3_bucket_protected(aws_run):
    _, preview, recording = aws_run
    _, children = _governance(recording)
    bucket = _one(children, "aws:s3/bucket:Bucket")
    key = _one(children, "aws:kms/key:Key")
    assert bucket.inputs["tags"]["plane"] == "governance"
    versioning = _one(children, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    block = _one(children, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"):
        assert block.inputs[setting] is True, setting
    assert block.inputs["restrictPublicBuckets"] is True
    encryption = _one(
        children,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    (rule,) = encryption.inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    policy = _one(children, "aws:s3/bucketPolicy:BucketPolicy")
    if preview:
        assert default["kmsMasterKeyId"] == UNKNOWN
        assert policy.inputs["policy"] == UNKNOWN
        return
    assert default["kmsMasterKeyId"] == known(key.outputs["arn"], "key ARN")
    statements = json.loads(known(policy.inputs["policy"], "bucket policy"))["Statement"]
    insecure = statements[0]
    assert insecure["Effect"] == "Deny"
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert insecure["Resource"] == [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"]


def test_gcs_bucket_protected(gcp_run):
    _, preview, recording = gcp_run
    _, children = _governance(recording)
    bucket = _one(children, "gcp:storage/bucket:Bucket")
    key = _one(children, "gcp:kms/cryptoKey:CryptoKey")
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["versioning"] == {"enabled": True}
    assert bucket.inputs["labels"]["plane"] == "governance"
    if preview:
        assert bucket.inputs["encryption"]["defaultKmsKeyName"] == UNKNOWN
        return
    assert bucket.inputs["encryption"]["defaultKmsKeyName"] == known(key.id, "key id")
    assert key.id.startswith("projects/cellarch-europe/locations/europe-west1/keyRings/")


def test_signing_key_is_secret(run):
    _, preview, recording = run
    _, children = _governance(recording)
    key = _one(children, "tls:index/privateKey:PrivateKey")
    assert key.inputs["algorithm"] == "ECDSA"
    assert key.inputs["ecdsaCurve"] == "P256"
    assert {"privateKeyPem", "privateKeyPemPkcs8"} <= set(key.additional_secret_outputs)
    (plane, _) = _governance(recording)
    assert plane.secret_outputs == ["signing_private_key_pem"]
    if not preview:
        assert key.outputs["privateKeyPem"].startswith("-----BEGIN EC PRIVATE KEY-----")


def test_bundle_objects_are_current_and_revision(run):
    stack, preview, recording = run
    _, children = _governance(recording)
    object_type = (
        "aws:s3/bucketObjectv2:BucketObjectv2"
        if CLOUD_OF_STACK[stack] == "aws"
        else "gcp:storage/bucketObject:BucketObject"
    )
    objects = {r.name: r for r in children if r.type == object_type}
    assert sorted(objects) == ["governance-bundle-current", "governance-bundle-revision"]
    key_field = "key" if CLOUD_OF_STACK[stack] == "aws" else "name"
    current = objects["governance-bundle-current"]
    assert current.inputs[key_field] == CURRENT_KEY
    revision_key = objects["governance-bundle-revision"].inputs[key_field]
    if preview:
        # The bundle is built once the signing key exists, which a preview does not know.
        assert current.inputs["source"] == UNKNOWN
        assert revision_key == UNKNOWN
        return
    assert revision_key.startswith("bundles/authz/")
    assert revision_key.endswith("/bundle.tar.gz")
    path = known(current.inputs["source"], "bundle asset")["asset"]["path"]
    with tarfile.open(path) as bundle:
        names = set(bundle.getnames())
    assert {"/policy.wasm", "/.signatures.json", "/.manifest"} <= names


def test_cell_readers_scoped_to_prefix(run):
    stack, preview, recording = run
    cells = CELLS_OF_STACK[stack]
    if CLOUD_OF_STACK[stack] == "aws":
        policies = {
            r.name.removesuffix("-bundle-reader-policy"): r
            for r in recording.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.name.endswith("-bundle-reader-policy")
        }
        assert sorted(policies) == sorted(cells)
        if preview:
            return
        bucket = recording.stack_outputs()["bundleBucket"]
        for cell, policy in policies.items():
            statements = json.loads(policy.inputs["policy"])["Statement"]
            assert statements[0]["Action"] == ["s3:GetObject"], cell
            assert statements[0]["Resource"] == f"arn:aws:s3:::{bucket}/bundles/authz/*", cell
            assert statements[1]["Action"] == ["kms:Decrypt"], cell
            assert len(statements) == 2, cell
        return
    grants = {
        r.name.removesuffix("-bundle-reader-objects"): r
        for r in recording.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.name.endswith("-bundle-reader-objects")
    }
    assert sorted(grants) == sorted(cells)
    for cell, grant in grants.items():
        assert grant.inputs["role"] == "roles/storage.objectViewer", cell
        if not preview:
            bucket = recording.stack_outputs()["bundleBucket"]
            prefix = f"projects/_/buckets/{bucket}/objects/bundles/authz/"
            expression = grant.inputs["condition"]["expression"]
            assert expression == f'resource.name.startsWith("{prefix}")', cell


def test_plane_without_issuers_creates_nothing():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        GovernancePlane(
            "governance",
            GovernancePlaneArgs(cloud="aws", region="us-east-1", token_issuers=[]),
            pulumi.ResourceOptions(provider=provider),
        )

    with pytest.raises(ProgramFailed) as raised:
        run_program(program, stack="governance-test", preview=True)
    assert isinstance(raised.value.error, ConfigError)
    assert str(raised.value) == (
        "token_issuers: invalid value []; expected at least one issuer, or every token is rejected"
    )
    types = [r.type for r in raised.value.recording.resources]
    assert types == [STACK_TYPE, "pulumi:providers:aws"]


def test_plane_creates_its_own_tls_provider():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        issuer = TokenIssuerArgs("https://auth.example.com", "cellarch", PUBLIC_KEY_PEM)
        GovernancePlane(
            "governance",
            GovernancePlaneArgs(cloud="aws", region="us-east-1", token_issuers=[issuer]),
            pulumi.ResourceOptions(provider=provider),
        )

    recording = run_program(program, stack="governance-test", preview=True)
    (plane,) = recording.of_type("cellarch:index:GovernancePlane")
    (tls_provider,) = recording.of_type("pulumi:providers:tls")
    assert tls_provider.parent == plane.urn
    (key,) = recording.of_type("tls:index/privateKey:PrivateKey")
    assert key.provider_urn == tls_provider.urn
