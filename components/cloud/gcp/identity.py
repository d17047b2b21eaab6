"""GCP part of the identity concern: a Google service account that reads bundles."""

import pulumi
import pulumi_gcp as gcp

from components.cloud.base import (
    CellCluster,
    CellContext,
    IdentitySeam,
    IdentitySpec,
    WorkloadIdentity,
)
from components.cloud.gcp.cluster import GcpCluster, service_account_id


class GcpIdentitySeam(IdentitySeam):
    """One Google service account per cell, bound to the cell's Kubernetes service accounts.

    The account may read objects of the bundle bucket whose names start with the bundle
    prefix (an IAM condition, which needs uniform bucket-level access). The agents reach it
    through GKE workload identity, which OPA reads as `gcp_metadata` credentials.
    """

    def create(
        self,
        ctx: CellContext,
        spec: IdentitySpec,
        cluster: CellCluster,
    ) -> WorkloadIdentity:
        if not isinstance(cluster, GcpCluster):
            raise TypeError(f"the GCP identity seam needs a GcpCluster, got {type(cluster)}")
        account = gcp.serviceaccount.Account(
            ctx.resource_name("bundle-reader"),
            account_id=service_account_id(ctx, "bundles"),
            project=ctx.project,
            display_name=f"Reads policy bundles for the agents of cell {ctx.cell}",
            description=ctx.label_text(),
            opts=ctx.opts(),
        )
        bindings: list[pulumi.Resource] = [account]
        for service_account in spec.service_accounts:
            bindings.append(
                gcp.serviceaccount.IAMMember(
                    ctx.resource_name(f"bundle-reader-{service_account}"),
                    service_account_id=account.name,
                    role="roles/iam.workloadIdentityUser",
                    member=(
                        f"serviceAccount:{cluster.workload_pool}"
                        f"[{spec.namespace}/{service_account}]"
                    ),
                    opts=ctx.opts(),
                )
            )
        bindings.append(
            gcp.storage.BucketIAMMember(
                ctx.resource_name("bundle-reader-objects"),
                bucket=spec.bundle_bucket,
                role="roles/storage.objectViewer",
                member=account.member,
                condition={
                    "title": "bundle-prefix",
                    "description": "Objects under the bundle prefix only",
                    "expression": pulumi.Output.from_input(spec.bundle_bucket).apply(
                        lambda bucket: (
                            "resource.name.startsWith("
                            f'"projects/_/buckets/{bucket}/objects/{spec.bundle_prefix}")'
                        )
                    ),
                },
                opts=ctx.opts(),
            )
        )
        return WorkloadIdentity(
            service_account_annotations={"iam.gke.io/gcp-service-account": account.email},
            resources=bindings,
        )
