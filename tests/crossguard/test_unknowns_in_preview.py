"""Values unknown during preview: never a crash, never compliant, literals still reported."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml
from crossguard_harness import (
    Agent,
    Pod,
    Sidecar,
    aws_provider,
    kube_labels,
    kube_provider,
    run_pack,
    tags,
)


def _agent_config_naming_bucket() -> None:
    """A pod whose agent configuration names a bucket ARN, unknown until the update, and
    whose sidecar fails open in a literal configuration."""
    bucket = aws.s3.Bucket(
        "bundles", tags=tags("governance"), opts=pulumi.ResourceOptions(provider=aws_provider())
    )
    provider = kube_provider()
    k8s.core.v1.ConfigMap(
        "agent-config",
        metadata={"name": "agent-config", "labels": kube_labels("data", "cell-1")},
        data={
            "agent.yaml": bucket.arn.apply(
                lambda arn: yaml.safe_dump({**Agent().config(), "labels": {"bucket": arn}})
            )
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )
    Pod(sidecar=Sidecar(failure_mode_allow=True)).create(provider)


def test_unknown_configuration_is_not_evaluated_at_preview():
    report = run_pack(_agent_config_naming_bucket, preview=True)

    not_evaluated = [d for d in report.not_evaluated if d.policy == "i04-bundles-signed"]
    assert [d.detail for d in not_evaluated] == [
        "could not evaluate yet, because these values are unknown until the update: "
        "ConfigMap agent-config: data.agent.yaml"
    ]
    assert not_evaluated[0].level.value == "advisory"
    assert not_evaluated[0].urn.endswith("kubernetes:core/v1:ConfigMap::agent-config")


def test_literal_violation_is_reported_at_preview_beside_unknowns():
    report = run_pack(_agent_config_naming_bucket, preview=True)

    assert report.details("i03-sidecar-fails-closed") == [
        "ConfigMap orders-config (envoy.yaml): listener inbound sets failure_mode_allow: true "
        "(fails open)"
    ]


def test_same_program_is_evaluated_in_update():
    report = run_pack(_agent_config_naming_bucket, preview=False)

    assert [d.detail for d in report.not_evaluated] == []
    assert report.details("i04-bundles-signed") == []


def test_unknown_key_is_resolved_through_dependencies_at_preview():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        key = aws.kms.Key("key-1", tags=tags("data", "cell-1"), opts=options)
        aws.rds.Instance(
            "db",
            engine="postgres",
            instance_class="db.r6g.large",
            storage_encrypted=True,
            kms_key_id=key.arn,
            tags=tags("data", "cell-2"),
            opts=options,
        )

    report = run_pack(program, preview=True)

    assert report.details("i10-database-cell-key") == [
        "database db of cell cell-2: is encrypted with KMS key key-1 of cell cell-1"
    ]


def test_unknown_pool_plane_at_preview():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        cluster = aws.eks.Cluster(
            "cell-1-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config={"subnet_ids": ["subnet-1"]},
            tags=tags("data", "cell-1"),
            opts=options,
        )
        # The pool's plane label comes from the cluster's ARN, unknown until the update.
        aws.eks.NodeGroup(
            "pool",
            cluster_name=cluster.name,
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=["subnet-1"],
            scaling_config={"desired_size": 3, "min_size": 3, "max_size": 6},
            labels={"cellarch.io/plane": cluster.arn},
            tags={"region": "us-east-1"},
            opts=options,
        )
        Pod(
            name="collector",
            plane="observability",
            sidecar=None,
            agent=None,
            service_target=None,
            tolerations=[{"key": "cellarch.io/plane", "operator": "Exists"}],
        ).create(kube_provider(depends_on=[cluster]))

    report = run_pack(program, preview=True)

    assert report.details("i01-no-shared-scheduling") == [
        "Deployment collector: observability-plane pods tolerate the data-plane taint "
        "cellarch.io/plane=data:NoSchedule"
    ]
    assert [d.detail for d in report.not_evaluated if d.policy == "i01-no-shared-scheduling"] == [
        "could not evaluate yet, because these values are unknown until the update: "
        "Deployment collector: plane of node pool pool"
    ]
