"""AWS part of the identity concern: an IRSA role that lets the agents read bundles."""

import json

import pulumi
import pulumi_aws as aws

from components.cloud.aws.cluster import AwsCluster
from components.cloud.base import (
    CellCluster,
    CellContext,
    IdentitySeam,
    IdentitySpec,
    WorkloadIdentity,
)


class AwsIdentitySeam(IdentitySeam):
    """One IAM role per cell, assumable only by the cell's named service accounts.

    The role may only read objects under the bundle prefix of the repository bucket, and
    decrypt them when the bucket uses a KMS key. The agents get its credentials from the
    EKS pod identity webhook (IRSA), which OPA reads as `web_identity_credentials`.
    """

    def create(
        self,
        ctx: CellContext,
        spec: IdentitySpec,
        cluster: CellCluster,
    ) -> WorkloadIdentity:
        if not isinstance(cluster, AwsCluster):
            raise TypeError(f"the AWS identity seam needs an AwsCluster, got {type(cluster)}")
        subjects = [
            f"system:serviceaccount:{spec.namespace}:{account}" for account in spec.service_accounts
        ]
        role = aws.iam.Role(
            ctx.resource_name("bundle-reader"),
            description=f"Reads policy bundles for the agents of cell {ctx.cell}",
            assume_role_policy=pulumi.Output.all(
                cluster.oidc_provider_arn, cluster.oidc_issuer
            ).apply(lambda values: _trust_policy(values[0], values[1], subjects)),
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        policy = aws.iam.RolePolicy(
            ctx.resource_name("bundle-reader-policy"),
            role=role.id,
            policy=pulumi.Output.all(spec.bundle_bucket, spec.bundle_key_id).apply(
                lambda values: _read_policy(values[0], spec.bundle_prefix, values[1])
            ),
            opts=ctx.opts(),
        )
        return WorkloadIdentity(
            service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
            resources=[role, policy],
        )


def _trust_policy(provider_arn: str, issuer: str, subjects: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:aud": "sts.amazonaws.com",
                            f"{issuer}:sub": subjects,
                        }
                    },
                }
            ],
        }
    )


def _read_policy(bucket: str, prefix: str, key_arn: str | None) -> str:
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
        }
    ]
    if key_arn:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
