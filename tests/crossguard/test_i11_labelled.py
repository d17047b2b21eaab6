"""I11 Labelled, on resources of each cloud that lack their plane, region or cell."""

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
from crossguard_harness import (
    aws_provider,
    gcp_provider,
    kube_labels,
    kube_provider,
    run_pack,
    tags,
)


class CellComponent(pulumi.ComponentResource):
    def __init__(self, name: str, opts=None) -> None:
        super().__init__("cellarch:index:Cell", name, None, opts)
        self.register_outputs({})


def test_untagged_vpc_on_aws():
    report = run_pack(
        lambda: aws.ec2.Vpc(
            "vpc", cidr_block="10.1.0.0/16", opts=pulumi.ResourceOptions(provider=aws_provider())
        )
    )

    assert report.details("i11-plane-region-labels") == [
        "VPC vpc: has no plane label in tags",
        "VPC vpc: has no region label in tags",
    ]


def test_provider_default_tags_count_on_aws():
    def program():
        provider = aws.Provider(
            "aws-tagged", region="us-east-1", default_tags={"tags": tags("data", "cell-1")}
        )
        aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16", opts=pulumi.ResourceOptions(provider=provider))

    report = run_pack(program)

    assert report.details("i11-plane-region-labels") == []


def test_network_description_without_plane_on_gcp():
    report = run_pack(
        lambda: gcp.compute.Network(
            "net",
            auto_create_subnetworks=False,
            description="region=europe-west1",
            opts=pulumi.ResourceOptions(provider=gcp_provider()),
        )
    )

    assert report.details("i11-plane-region-labels") == [
        "VPC network net: has no plane label in description"
    ]


def test_unknown_plane_on_kubernetes():
    def program():
        k8s.core.v1.ConfigMap(
            "settings",
            metadata={"name": "settings", "labels": kube_labels("edge")},
            data={},
            opts=pulumi.ResourceOptions(provider=kube_provider()),
        )

    report = run_pack(program)

    assert report.details("i11-plane-region-labels") == [
        "ConfigMap settings: plane label 'edge' in metadata.labels is none of data, control, "
        "governance, observability"
    ]


def test_cell_resource_without_cell_tag_on_aws():
    def program():
        cell = CellComponent("cell-1", pulumi.ResourceOptions(providers=[aws_provider()]))
        aws.kms.Key("key", tags=tags("data"), opts=pulumi.ResourceOptions(parent=cell))

    report = run_pack(program)

    assert report.details("i11-cell-label") == [
        "KMS key key: belongs to cell cell-1 (parent Cell cell-1) but has no cell label in tags"
    ]


def test_cell_resource_with_other_cell_label_on_gcp():
    def program():
        cell = CellComponent("cell-1", pulumi.ResourceOptions(providers=[gcp_provider()]))
        gcp.kms.CryptoKey(
            "key",
            key_ring="projects/p/locations/europe-west1/keyRings/ring",
            labels=tags("data", "cell-2"),
            opts=pulumi.ResourceOptions(parent=cell),
        )

    report = run_pack(program)

    assert report.details("i11-cell-label") == [
        "KMS key key: cell label 'cell-2' in labels names another cell than cell-1 "
        "(parent Cell cell-1)"
    ]


def test_unlabelled_cell_object_on_kubernetes():
    def program():
        cluster = aws.eks.Cluster(
            "cell-1-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config={"subnet_ids": ["subnet-1"]},
            tags=tags("data", "cell-1"),
            opts=pulumi.ResourceOptions(provider=aws_provider()),
        )
        k8s.core.v1.ConfigMap(
            "settings",
            metadata={"name": "settings", "labels": kube_labels("data")},
            data={},
            opts=pulumi.ResourceOptions(provider=kube_provider(depends_on=[cluster])),
        )

    report = run_pack(program)

    assert report.details("i11-cell-label") == [
        "ConfigMap settings: belongs to cell cell-1 (deployed to EKS cluster cell-1-eks) but has "
        "no cell label in metadata.labels"
    ]
