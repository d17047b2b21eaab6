"""AWS part of the bucket concern: S3 with versioning, SSE-KMS, no public access, TLS only."""

import json

import pulumi
import pulumi_aws as aws

from components.bucket.base import Bucket, BucketSeam, BucketSpec


class AwsBucketSeam(BucketSeam):
    def create(self, spec: BucketSpec, opts: pulumi.ResourceOptions) -> Bucket:
        production = spec.environment == "production"
        key = aws.kms.Key(
            f"{spec.name}-key",
            description=f"Encrypts the objects of the bucket {spec.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=spec.labels,
            opts=opts,
        )
        bucket = aws.s3.Bucket(
            spec.name,
            # Only non-production buckets may be deleted with their objects.
            force_destroy=not production,
            tags=spec.labels,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=production)),
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{spec.name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=opts,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{spec.name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        versioning = aws.s3.BucketVersioning(
            f"{spec.name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=opts,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{spec.name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    # S3 Bucket Keys cut the KMS requests of many small reads.
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{spec.name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": spec.noncurrent_version_days
                    },
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[versioning])
            ),
        )
        policy = aws.s3.BucketPolicy(
            f"{spec.name}-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(_tls_only_policy),
            # A bucket policy is rejected while the public access block is being applied.
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[public_access])
            ),
        )
        return Bucket(
            bucket_name=bucket.bucket,
            url=bucket.bucket.apply(lambda name: f"s3://{name}"),
            key_id=key.arn,
            repository="s3",
            ready=[ownership, public_access, versioning, encryption, policy],
        )


def _tls_only_policy(bucket_arn: str) -> str:
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": resources,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "DenyOutdatedTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": resources,
                    "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
                },
            ],
        }
    )


SEAM = AwsBucketSeam()
