"""Seam between the governance plane and its cloud's object storage (I10).

Every implementation creates a private bucket that keeps object versions, encrypts with a
customer-managed key of its own, blocks public access, and accepts TLS requests only.
"""

import abc
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class BucketSpec:
    name: str
    """Logical name prefix of the bucket's resources."""
    region: str
    environment: str
    labels: dict[str, str]
    """Tags or labels spelled for the cloud."""
    noncurrent_version_days: int
    """Days a replaced object version is kept before it expires."""
    project: str | None = None


@dataclass(frozen=True)
class Bucket:
    bucket_name: pulumi.Output[str]
    url: pulumi.Output[str]
    """`s3://name` or `gs://name`."""
    key_id: pulumi.Output[str]
    """ARN of the KMS key (AWS) or id of the Cloud KMS crypto key (GCP)."""
    repository: str
    """`s3` or `gcs`, the kind the agents' bundle service uses."""
    ready: list[pulumi.Resource]
    """Resources that must exist before objects are written (encryption, IAM grants)."""


class BucketSeam(abc.ABC):
    @abc.abstractmethod
    def create(self, spec: BucketSpec, opts: pulumi.ResourceOptions) -> Bucket:
        """Create the bucket and its key with `opts`, which parent and pin the provider."""
