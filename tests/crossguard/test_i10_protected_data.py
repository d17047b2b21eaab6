"""I10 Protected data, on programs that break it on AWS and GCP."""

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
from crossguard_harness import aws_provider, gcp_provider, run_pack, tags


def _aws_database(name: str, cell: str, key: aws.kms.Key | None, **overrides) -> None:
    settings = {
        "engine": "postgres",
        "instance_class": "db.r6g.large",
        "allocated_storage": 100,
        "storage_encrypted": True,
        "kms_key_id": key.arn if key is not None else None,
        "publicly_accessible": False,
        "multi_az": True,
        "backup_retention_period": 14,
        "deletion_protection": True,
        "tags": tags("data", cell),
    }
    protect = settings.pop("protect", True)
    settings.update(overrides)
    protect = settings.pop("protect", protect)
    aws.rds.Instance(
        name, **settings, opts=pulumi.ResourceOptions(provider=aws_provider(), protect=protect)
    )


def _aws_key(name: str, cell: str | None) -> aws.kms.Key:
    plane = "data" if cell else "governance"
    return aws.kms.Key(
        name, tags=tags(plane, cell), opts=pulumi.ResourceOptions(provider=aws_provider())
    )


def _gcp_database(
    name: str, cell: str, key: gcp.kms.CryptoKey | None, protect: bool = True, **settings
) -> None:
    values = {
        "ip_configuration": {"ipv4_enabled": False, "private_network": "net"},
        "availability_type": "REGIONAL",
        "deletion_protection_enabled": True,
        "backup_configuration": {
            "enabled": True,
            "backup_retention_settings": {"retained_backups": 14},
        },
        "user_labels": tags("data", cell),
        "tier": "db-custom-2-7680",
    }
    values.update(settings)
    gcp.sql.DatabaseInstance(
        name,
        database_version="POSTGRES_16",
        encryption_key_name=key.id if key is not None else None,
        settings=values,
        opts=pulumi.ResourceOptions(provider=gcp_provider(), protect=protect),
    )


def _gcp_key(name: str, cell: str) -> gcp.kms.CryptoKey:
    return gcp.kms.CryptoKey(
        name,
        key_ring="projects/p/locations/europe-west1/keyRings/ring",
        labels=tags("data", cell),
        opts=pulumi.ResourceOptions(provider=gcp_provider()),
    )


def test_public_database_on_aws():
    report = run_pack(
        lambda: _aws_database("db", "cell-1", _aws_key("key", "cell-1"), publicly_accessible=True)
    )

    assert report.details("i10-database-private") == [
        "database db: has a public address (publiclyAccessible is on)"
    ]


def test_public_database_on_gcp():
    def program():
        _gcp_database(
            "db", "cell-1", _gcp_key("key", "cell-1"), ip_configuration={"ipv4_enabled": True}
        )

    report = run_pack(program)

    assert report.details("i10-database-private") == [
        "database db: has a public address (settings.ipConfiguration.ipv4Enabled is on)"
    ]


def test_database_key_of_other_cell_on_aws():
    def program():
        _aws_key("key-1", "cell-1")
        _aws_database("db-2", "cell-2", _aws_key("key-2", "cell-1"))

    report = run_pack(program)

    assert report.details("i10-database-cell-key") == [
        "database db-2 of cell cell-2: is encrypted with KMS key key-2 of cell cell-1"
    ]


def test_database_default_key_on_aws():
    report = run_pack(lambda: _aws_database("db", "cell-1", None))

    assert report.details("i10-database-cell-key") == [
        "database db: is encrypted with the provider's default key, not its cell's own key"
    ]


def test_database_unencrypted_on_aws():
    report = run_pack(lambda: _aws_database("db", "cell-1", None, storage_encrypted=False))

    assert report.details("i10-database-cell-key") == ["database db: stores its data unencrypted"]


def test_database_shared_key_on_gcp():
    def program():
        _gcp_database("db", "cell-1", _gcp_key("key", "cell-2"))

    report = run_pack(program)

    assert report.details("i10-database-cell-key") == [
        "database db of cell cell-1: is encrypted with KMS key key of cell cell-2"
    ]


def test_database_backups_and_zones_on_aws():
    def program():
        _aws_database(
            "db", "cell-1", _aws_key("key", "cell-1"), backup_retention_period=0, multi_az=False
        )

    report = run_pack(program)

    assert report.details("i10-database-resilient") == [
        "database db: runs in one zone, with no standby in another zone",
        "database db: takes no automated backups, fewer than 7",
    ]


def test_database_backups_and_zones_on_gcp():
    def program():
        _gcp_database(
            "db",
            "cell-1",
            _gcp_key("key", "cell-1"),
            availability_type="ZONAL",
            backup_configuration={
                "enabled": True,
                "backup_retention_settings": {"retained_backups": 3},
            },
        )

    report = run_pack(program)

    assert report.details("i10-database-resilient") == [
        "database db: keeps backups 3 days, fewer than 7",
        "database db: runs in one zone, with no standby in another zone",
    ]


def test_backup_minimum_from_pack_config():
    report = run_pack(
        lambda: _aws_database("db", "cell-1", _aws_key("key", "cell-1")),
        pack_config={"i10-database-resilient": {"minBackupRetentionDays": 30}},
    )

    assert report.details("i10-database-resilient") == [
        "database db: keeps backups 14 days, fewer than 30"
    ]


def test_deletion_protection_in_production_on_aws():
    report = run_pack(
        lambda: _aws_database("db", "cell-1", _aws_key("key", "cell-1"), deletion_protection=False)
    )

    assert report.details("i10-database-deletion-protected") == [
        "database db: has no deletion protection in a production stack"
    ]


def test_deletion_protection_in_production_on_gcp():
    def program():
        _gcp_database("db", "cell-1", _gcp_key("key", "cell-1"), deletion_protection_enabled=False)

    report = run_pack(program)

    assert report.details("i10-database-deletion-protected") == [
        "database db: has no deletion protection in a production stack"
    ]


def test_protect_option_in_production_on_aws():
    report = run_pack(
        lambda: _aws_database("db", "cell-1", _aws_key("key", "cell-1"), protect=False)
    )

    assert report.details("i10-database-deletion-protected") == [
        "database db: lacks Pulumi's protect option in a production stack"
    ]


def test_protect_option_in_production_on_gcp():
    report = run_pack(
        lambda: _gcp_database("db", "cell-1", _gcp_key("key", "cell-1"), protect=False)
    )

    assert report.details("i10-database-deletion-protected") == [
        "database db: lacks Pulumi's protect option in a production stack"
    ]


def test_deletion_protection_not_required_in_staging():
    report = run_pack(
        lambda: _aws_database("db", "cell-1", _aws_key("key", "cell-1"), deletion_protection=False),
        stack_config={"cellarch:environment": "staging"},
    )

    assert report.details("i10-database-deletion-protected") == []


def test_bare_bucket_on_aws():
    def program():
        aws.s3.Bucket(
            "bundles",
            tags=tags("governance"),
            opts=pulumi.ResourceOptions(provider=aws_provider()),
        )

    report = run_pack(program)

    assert report.details("i10-bucket-protected") == [
        "S3 bucket bundles: does not block public access",
        "S3 bucket bundles: does not deny requests without TLS",
        "S3 bucket bundles: does not keep versions",
    ]


def test_bucket_settings_as_separate_resources_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        bucket = aws.s3.Bucket("bundles", tags=tags("governance"), opts=options)
        aws.s3.BucketPublicAccessBlock(
            "bundles-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=False,
            opts=options,
        )
        aws.s3.BucketVersioning(
            "bundles-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=options,
        )
        aws.s3.BucketPolicy(
            "bundles-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: (
                    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",'
                    f'"Action":"s3:*","Resource":"{arn}/*",'
                    '"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
                )
            ),
            opts=options,
        )

    report = run_pack(program)

    assert report.details("i10-bucket-protected") == [
        "S3 bucket bundles: does not block public access"
    ]


def test_bucket_without_versions_on_gcp():
    def program():
        gcp.storage.Bucket(
            "bundles",
            location="EU",
            public_access_prevention="enforced",
            uniform_bucket_level_access=True,
            labels=tags("governance"),
            opts=pulumi.ResourceOptions(provider=gcp_provider()),
        )

    report = run_pack(program)

    assert report.details("i10-bucket-protected") == [
        "storage bucket bundles: does not keep versions"
    ]


def test_literal_violation_reported_at_preview():
    def program():
        _aws_database("db", "cell-1", _aws_key("key", "cell-1"), publicly_accessible=True)

    report = run_pack(program, preview=True)

    assert report.details("i10-database-private") == [
        "database db: has a public address (publiclyAccessible is on)"
    ]
    assert report.details("i10-database-cell-key") == []
