"""I6 Share nothing, on programs that join cells on AWS, GCP and Kubernetes."""

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
    """Stands in for the library's Cell: same type token, nothing of its own."""

    def __init__(self, name: str) -> None:
        super().__init__("cellarch:index:Cell", name, None, None)
        self.register_outputs({})


def _aws_vpc(name: str, cidr: str, cell: str, options) -> aws.ec2.Vpc:
    return aws.ec2.Vpc(name, cidr_block=cidr, tags=tags("data", cell), opts=options)


def test_key_shared_by_cells_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        key = aws.kms.Key("key-1", tags=tags("data", "cell-1"), opts=options)
        aws.secretsmanager.Secret(
            "secret-2", kms_key_id=key.arn, tags=tags("data", "cell-2"), opts=options
        )

    report = run_pack(program)

    assert report.details("i06-one-cell-per-resource") == [
        "KMS key key-1 of cell cell-1: used by secret secret-2 of cell cell-2"
    ]


def test_use_through_parent_and_dependency_on_gcp():
    def program():
        provider = gcp_provider()
        cell_1 = CellComponent("cell-1")
        key = gcp.kms.CryptoKey(
            "key",
            key_ring="projects/p/locations/europe-west1/keyRings/ring",
            opts=pulumi.ResourceOptions(parent=cell_1, provider=provider),
        )
        # Only depends_on joins them: no ID of the key appears in the secret.
        gcp.secretmanager.Secret(
            "secret-2",
            secret_id="secret-2",
            replication={"auto": {}},
            labels=tags("data", "cell-2"),
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[key]),
        )

    report = run_pack(program)

    assert report.details("i06-one-cell-per-resource") == [
        "KMS key key of cell cell-1: used by secret secret-2 of cell cell-2"
    ]


def test_object_in_another_cells_cluster_on_kubernetes():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        cluster = aws.eks.Cluster(
            "cell-1-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config={"subnet_ids": ["subnet-1"]},
            tags=tags("data", "cell-1"),
            opts=options,
        )
        provider = kube_provider(depends_on=[cluster])
        k8s.core.v1.Secret(
            "database",
            metadata={"name": "database", "labels": kube_labels("data", "cell-2")},
            string_data={"password": "x"},
            opts=pulumi.ResourceOptions(provider=provider),
        )

    report = run_pack(program)

    assert report.details("i06-one-cell-per-resource") == [
        "EKS cluster cell-1-eks of cell cell-1: used by Secret database of cell cell-2",
        "Secret database: belongs to cells cell-1 and cell-2 (cell label says cell-2, "
        "deployed to EKS cluster cell-1-eks says cell-1)",
    ]


def test_peering_between_cells_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        vpc_1 = _aws_vpc("vpc-1", "10.1.0.0/16", "cell-1", options)
        vpc_2 = _aws_vpc("vpc-2", "10.2.0.0/16", "cell-2", options)
        aws.ec2.VpcPeeringConnection(
            "peer", vpc_id=vpc_1.id, peer_vpc_id=vpc_2.id, tags=tags("data"), opts=options
        )

    report = run_pack(program)

    assert report.details("i06-no-peering-between-cells") == [
        "peering peer: joins cells cell-1 and cell-2 (VPC vpc-1 of cell cell-1, VPC vpc-2 of "
        "cell cell-2)"
    ]


def test_transit_attachment_of_a_cell_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        vpc = _aws_vpc("vpc-1", "10.1.0.0/16", "cell-1", options)
        aws.ec2transitgateway.VpcAttachment(
            "transit",
            vpc_id=vpc.id,
            transit_gateway_id="tgw-0123456789abcdef0",
            subnet_ids=["subnet-1"],
            tags=tags("data"),
            opts=options,
        )

    report = run_pack(program)

    assert report.details("i06-no-peering-between-cells") == [
        "transit attachment transit: connects a network of cell cell-1 to VPC vpc-1 of cell "
        "cell-1, transitGatewayId outside this stack; a cell's network connects to no other "
        "network"
    ]


def test_peering_between_cells_on_gcp():
    def program():
        provider = gcp_provider()
        networks = [
            gcp.compute.Network(
                f"net-{n}",
                auto_create_subnetworks=False,
                description=f"plane=data cell=cell-{n} region=europe-west1",
                opts=pulumi.ResourceOptions(provider=provider),
            )
            for n in (1, 2)
        ]
        gcp.compute.NetworkPeering(
            "peer",
            network=networks[0].self_link,
            peer_network=networks[1].self_link,
            opts=pulumi.ResourceOptions(provider=provider),
        )

    report = run_pack(program)

    assert report.details("i06-no-peering-between-cells") == [
        "peering peer: joins cells cell-1 and cell-2 (VPC network net-1 of cell cell-1, "
        "VPC network net-2 of cell cell-2)"
    ]


def test_overlapping_cell_ranges_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        _aws_vpc("vpc-1", "10.1.0.0/16", "cell-1", options)
        _aws_vpc("vpc-2", "10.1.128.0/17", "cell-2", options)

    report = run_pack(program)

    assert report.details("i06-cell-ranges-disjoint") == [
        "VPC vpc-1: VPC range 10.1.0.0/16 of cell cell-1 overlaps VPC range 10.1.128.0/17 of "
        "cell cell-2 (VPC vpc-2)"
    ]


def test_overlapping_cell_ranges_on_gcp():
    def program():
        provider = gcp_provider()
        for n, cidr in ((1, "10.8.0.0/20"), (2, "10.8.8.0/21")):
            network = gcp.compute.Network(
                f"net-{n}",
                auto_create_subnetworks=False,
                description=f"plane=data cell=cell-{n} region=europe-west1",
                opts=pulumi.ResourceOptions(provider=provider),
            )
            gcp.compute.Subnetwork(
                f"subnet-{n}",
                network=network.id,
                ip_cidr_range=cidr,
                description=f"plane=data cell=cell-{n} region=europe-west1",
                opts=pulumi.ResourceOptions(provider=provider),
            )

    report = run_pack(program)

    assert report.details("i06-cell-ranges-disjoint") == [
        "subnetwork subnet-1: subnet range 10.8.0.0/20 of cell cell-1 overlaps subnet range "
        "10.8.8.0/21 of cell cell-2 (subnetwork subnet-2)"
    ]


def test_overlap_with_a_cell_of_another_stack():
    def program():
        _aws_vpc("vpc-1", "10.1.0.0/16", "cell-1", pulumi.ResourceOptions(provider=aws_provider()))

    report = run_pack(
        program,
        pack_config={
            "i06-cell-ranges-disjoint": {"otherCellRanges": {"eu-west-1/cell-1": ["10.1.4.0/24"]}}
        },
    )

    assert report.details("i06-cell-ranges-disjoint") == [
        "VPC vpc-1: VPC range 10.1.0.0/16 of cell cell-1 overlaps 10.1.4.0/24 of cell "
        "eu-west-1/cell-1 in another stack"
    ]


def _two_cell_groups(options):
    vpcs = [
        _aws_vpc("vpc-1", "10.1.0.0/16", "cell-1", options),
        _aws_vpc("vpc-2", "10.2.0.0/16", "cell-2", options),
    ]
    return vpcs


def test_inline_rule_admitting_another_cell_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        vpc_1, _ = _two_cell_groups(options)
        aws.ec2.SecurityGroup(
            "sg-1",
            vpc_id=vpc_1.id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 5432,
                    "to_port": 5432,
                    "cidr_blocks": ["10.2.0.0/16"],
                }
            ],
            tags=tags("data", "cell-1"),
            opts=options,
        )

    report = run_pack(program)

    assert report.details("i06-no-rule-between-cells") == [
        "security group sg-1: inline rule ingress[0] (ingress) of cell cell-1 admits range "
        "10.2.0.0/16 of cell cell-2"
    ]


def test_separate_rule_admitting_another_cells_group_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        vpc_1, vpc_2 = _two_cell_groups(options)
        group_1 = aws.ec2.SecurityGroup(
            "sg-1", vpc_id=vpc_1.id, tags=tags("data", "cell-1"), opts=options
        )
        group_2 = aws.ec2.SecurityGroup(
            "sg-2", vpc_id=vpc_2.id, tags=tags("data", "cell-2"), opts=options
        )
        aws.vpc.SecurityGroupIngressRule(
            "from-cell-2",
            security_group_id=group_1.id,
            referenced_security_group_id=group_2.id,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
            opts=options,
        )

    report = run_pack(program)

    assert report.details("i06-no-rule-between-cells") == [
        "security group ingress rule from-cell-2: rule rule (ingress) of cell cell-1 admits "
        "security group sg-2 of cell cell-2"
    ]


def test_firewall_admitting_another_cell_on_gcp():
    def program():
        provider = gcp_provider()
        options = pulumi.ResourceOptions(provider=provider)
        network = gcp.compute.Network(
            "net-1",
            auto_create_subnetworks=False,
            description="plane=data cell=cell-1 region=europe-west1",
            opts=options,
        )
        gcp.compute.Subnetwork(
            "subnet-2",
            network="projects/p/global/networks/net-2",
            ip_cidr_range="10.9.0.0/20",
            description="plane=data cell=cell-2 region=europe-west1",
            opts=options,
        )
        gcp.compute.Firewall(
            "allow-cell-2",
            network=network.id,
            source_ranges=["10.9.0.0/24"],
            allows=[{"protocol": "tcp", "ports": ["5432"]}],
            opts=options,
        )

    report = run_pack(program)

    assert report.details("i06-no-rule-between-cells") == [
        "firewall allow-cell-2: rule allows[0] (ingress) of cell cell-1 admits range "
        "10.9.0.0/24 of cell cell-2"
    ]


def test_network_policy_admitting_another_cell_on_kubernetes():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        _aws_vpc("vpc-2", "10.2.0.0/16", "cell-2", options)
        cluster = aws.eks.Cluster(
            "cell-1-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config={"subnet_ids": ["subnet-1"]},
            tags=tags("data", "cell-1"),
            opts=options,
        )
        k8s.networking.v1.NetworkPolicy(
            "from-cell-2",
            metadata={"name": "from-cell-2", "labels": kube_labels("data", "cell-1")},
            spec={
                "podSelector": {},
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.2.3.0/24"}}]}],
            },
            opts=pulumi.ResourceOptions(provider=kube_provider(depends_on=[cluster])),
        )

    report = run_pack(program)

    assert report.details("i06-no-rule-between-cells") == [
        "NetworkPolicy from-cell-2: rule spec.ingress[0] (ingress) of cell cell-1 admits range "
        "10.2.3.0/24 of cell cell-2"
    ]
