"""GCP part of the bucket concern: GCS with uniform access, versioning and CMEK.

GCS serves its JSON and XML APIs over HTTPS only, so no policy is needed for TLS.
"""

import pulumi
import pulumi_gcp as gcp

from components.bucket.base import Bucket, BucketSeam, BucketSpec


class GcpBucketSeam(BucketSeam):
    def create(self, spec: BucketSpec, opts: pulumi.ResourceOptions) -> Bucket:
        production = spec.environment == "production"
        key_ring = gcp.kms.KeyRing(
            f"{spec.name}-keyring",
            project=spec.project,
            location=spec.region,
            opts=opts,
        )
        key = gcp.kms.CryptoKey(
            f"{spec.name}-key",
            key_ring=key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{90 * 24 * 3600}s",
            labels=spec.labels,
            opts=opts,
        )
        # GCS encrypts with the key as the project's storage service agent.
        agent = gcp.storage.get_project_service_account_output(
            project=spec.project,
            opts=pulumi.InvokeOutputOptions(parent=opts.parent, provider=opts.provider),
        )
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{spec.name}-key-storage-agent",
            crypto_key_id=key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=agent.email_address.apply(lambda email: f"serviceAccount:{email}"),
            opts=opts,
        )
        bucket = gcp.storage.Bucket(
            spec.name,
            project=spec.project,
            location=spec.region.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            encryption={"default_kms_key_name": key.id},
            lifecycle_rules=[
                {
                    "action": {"type": "Delete"},
                    "condition": {
                        "days_since_noncurrent_time": spec.noncurrent_version_days,
                        "with_state": "ARCHIVED",
                    },
                }
            ],
            force_destroy=not production,
            labels=spec.labels,
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[grant], protect=production)
            ),
        )
        return Bucket(
            bucket_name=bucket.name,
            url=bucket.url,
            key_id=key.id,
            repository="gcs",
            ready=[grant],
        )


SEAM = GcpBucketSeam()
