"""I10 Protected data: databases are private, encrypted with the cell's own key, backed up,
multi-zone, and protected from deletion in production stacks. Buckets block public access,
require TLS and keep versions."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..stack_settings import ENVIRONMENTS, PRODUCTION, environment
from ..values import UNKNOWN, is_unknown
from ..view.graph import StackView
from ..view.model import Bucket, BucketSetting, Database, Key, Record
from .base import MANDATORY, Rule

DEFAULT_MIN_BACKUP_DAYS = 7


def _databases(records: list[Record]) -> list[Database]:
    return [r for r in records if isinstance(r, Database)]


def check_database_private(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for database in _databases(records):
        if is_unknown(database.public):
            findings.unknown(database.ref.title, database.public_reason or "public access")
        elif database.public:
            findings.violation(
                f"{database.ref.title}: has a public address ({database.public_reason} is on)"
            )


def check_database_resilient(
    records: list[Record], findings: Findings, config: Mapping[str, Any]
) -> None:
    min_days = config.get("minBackupRetentionDays", DEFAULT_MIN_BACKUP_DAYS)
    for database in _databases(records):
        days = database.backup_retention_days
        if is_unknown(days):
            findings.unknown(database.ref.title, "backup retention")
        elif days is not None and days < min_days:
            retention = "takes no automated backups" if days == 0 else f"keeps backups {days} days"
            findings.violation(f"{database.ref.title}: {retention}, fewer than {min_days}")
        if is_unknown(database.multi_zone):
            findings.unknown(database.ref.title, "zone availability")
        elif database.multi_zone is False:
            findings.violation(
                f"{database.ref.title}: runs in one zone, with no standby in another zone"
            )


def check_database_deletion_protected(
    records: list[Record], findings: Findings, config: Mapping[str, Any]
) -> None:
    if environment(config) != PRODUCTION:
        return
    for database in _databases(records):
        if is_unknown(database.deletion_protection):
            findings.unknown(database.ref.title, "deletion protection")
        elif database.deletion_protection is False:
            findings.violation(
                f"{database.ref.title}: has no deletion protection in a production stack"
            )
        if database.protected is False and database.deletion_protection is not None:
            findings.violation(
                f"{database.ref.title}: lacks Pulumi's protect option in a production stack"
            )


def check_database_key(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for database in view.records(Database):
        if database.encrypted is None:
            continue  # The settings belong to the database cluster it is part of.
        title = database.ref.title
        if is_unknown(database.encrypted):
            findings.unknown(title, "storage encryption")
            continue
        if database.encrypted is False:
            findings.violation(f"{title}: stores its data unencrypted", database.ref.urn)
            continue
        if database.key is None:
            findings.violation(
                f"{title}: is encrypted with the provider's default key, not its cell's own key",
                database.ref.urn,
            )
            continue
        _check_key_owner(view, database, findings)


def _check_key_owner(view: StackView, database: Database, findings: Findings) -> None:
    title = database.ref.title
    cells = view.membership(database.ref.urn).cells
    keys = [
        urn
        for urn in view.targets(database.ref.urn, database.key_property)
        if view.first(urn, Key) is not None
    ]
    if not keys:
        if is_unknown(database.key):
            findings.unknown(title, f"{database.key_property} (no key of this stack named)")
        else:
            findings.violation(
                f"{title}: uses key {database.key}, which is no key of this stack, so it cannot "
                "be its cell's own",
                database.ref.urn,
            )
        return
    for key in keys:
        key_cells = view.membership(key).cells
        if not cells:
            findings.violation(
                f"{title}: belongs to no cell, so no key can be its cell's own", database.ref.urn
            )
        elif key_cells != cells:
            owner = f"cell {' and '.join(sorted(key_cells))}" if key_cells else "no cell"
            findings.violation(
                f"{title} of cell {' and '.join(sorted(cells))}: is encrypted with "
                f"{view.title(key)} of {owner}",
                database.ref.urn,
            )


def _bucket_settings(view: StackView) -> dict[str, list[BucketSetting]]:
    settings: dict[str, list[BucketSetting]] = {}
    for setting in view.records(BucketSetting):
        for bucket in view.targets(setting.ref.urn, setting.bucket_property):
            settings.setdefault(bucket, []).append(setting)
    return settings


def _combined(bucket: Bucket, settings: list[BucketSetting], field: str) -> Any:
    """Return True when the bucket or a setting resource turns `field` on, UNKNOWN when only
    unknown values could, else False."""
    values = [getattr(bucket, field)] + [getattr(s, field) for s in settings]
    if any(value is True for value in values):
        return True
    if any(is_unknown(value) for value in values):
        return UNKNOWN
    return False


_BUCKET_FACTS = (
    ("public_access_blocked", "public access block", "does not block public access"),
    ("tls_required", "bucket policy", "does not deny requests without TLS"),
    ("versioning", "versioning", "does not keep versions"),
)


def check_bucket_protected(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    settings = _bucket_settings(view)
    for bucket in view.records(Bucket):
        own = settings.get(bucket.ref.urn, [])
        for field, setting_name, problem in _BUCKET_FACTS:
            value = _combined(bucket, own, field)
            if is_unknown(value):
                findings.unknown(bucket.ref.title, setting_name)
            elif value is not True:
                findings.violation(f"{bucket.ref.title}: {problem}", bucket.ref.urn)


RULES = [
    Rule(
        name="i10-database-private",
        invariant="I10",
        description="Databases have no public address.",
        level=MANDATORY,
        checks={
            "aws": "RDS instances and Aurora cluster instances: publiclyAccessible is false",
            "gcp": "Cloud SQL instances: settings.ipConfiguration.ipv4Enabled is false",
        },
        resource_check=check_database_private,
    ),
    Rule(
        name="i10-database-cell-key",
        invariant="I10",
        description="Databases are encrypted with a key of their own cell.",
        level=MANDATORY,
        checks={
            "aws": "RDS instances and Aurora clusters: storageEncrypted, and kmsKeyId depends "
            "on a KMS key of the same cell",
            "gcp": "Cloud SQL instances: encryptionKeyName depends on a KMS crypto key of the "
            "same cell",
        },
        stack_check=check_database_key,
    ),
    Rule(
        name="i10-database-resilient",
        invariant="I10",
        description=(
            "Databases keep automated backups for long enough and have a standby in another zone."
        ),
        level=MANDATORY,
        checks={
            "aws": "RDS: backupRetentionPeriod at least minBackupRetentionDays and multiAz; "
            "Aurora: backupRetentionPeriod and two or more availabilityZones",
            "gcp": "Cloud SQL: backups enabled with enough retainedBackups, availabilityType "
            "REGIONAL",
        },
        resource_check=check_database_resilient,
        config={
            "minBackupRetentionDays": {
                "type": "integer",
                "minimum": 1,
                "description": "Fewest days of automated backups a database may keep.",
                "default": DEFAULT_MIN_BACKUP_DAYS,
            }
        },
    ),
    Rule(
        name="i10-database-deletion-protected",
        invariant="I10",
        description="Databases of a production stack are protected from deletion.",
        level=MANDATORY,
        checks={
            "aws": "in production: deletionProtection on RDS instances and Aurora clusters, "
            "and Pulumi's protect option",
            "gcp": "in production: settings.deletionProtectionEnabled on Cloud SQL, and "
            "Pulumi's protect option",
        },
        resource_check=check_database_deletion_protected,
        config={
            "environment": {
                "type": "string",
                "enum": list(ENVIRONMENTS),
                "description": "Environment of the stack; defaults to its cellarch:environment.",
            }
        },
    ),
    Rule(
        name="i10-bucket-protected",
        invariant="I10",
        description="Buckets block public access, deny requests without TLS and keep versions.",
        level=MANDATORY,
        checks={
            "aws": "S3 buckets with the BucketPublicAccessBlock (all four flags), "
            "BucketVersioning and BucketPolicy (deny aws:SecureTransport false) that name them",
            "gcp": "Cloud Storage buckets: publicAccessPrevention enforced with uniform access, "
            "versioning enabled (Cloud Storage has no setting that requires TLS)",
        },
        stack_check=check_bucket_protected,
    ),
]
