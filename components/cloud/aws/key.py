"""AWS part of the key concern: a KMS key that only this cell uses."""

import pulumi_aws as aws

from components.cloud.base import CellContext, CellKey, KeySeam


class AwsKeySeam(KeySeam):
    """A customer-managed KMS key with yearly rotation and an alias named after the cell.

    The key policy is AWS's default (the account administers the key through IAM), so the
    EKS cluster role and RDS use it through IAM grants that name this key only (I6).
    """

    def create(self, ctx: CellContext) -> CellKey:
        key = aws.kms.Key(
            ctx.resource_name("key"),
            description=f"Encryption key of cell {ctx.cell} in region {ctx.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=ctx.labels(),
            opts=ctx.opts(protect=ctx.production),
        )
        aws.kms.Alias(
            ctx.resource_name("key-alias"),
            name=f"alias/cellarch/{ctx.region}/{ctx.cell}",
            target_key_id=key.key_id,
            opts=ctx.opts(),
        )
        return CellKey(key_id=key.arn)
