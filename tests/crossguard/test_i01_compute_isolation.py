"""I1 Compute isolation, on programs with pools and workloads that break it."""

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
from crossguard_harness import Pod, aws_provider, gcp_provider, kube_provider, run_pack, tags

DATA_TAINT = {"key": "cellarch.io/plane", "value": "data", "effect": "NO_SCHEDULE"}


def _eks_cluster(name: str, cell: str | None, options) -> aws.eks.Cluster:
    return aws.eks.Cluster(
        name,
        role_arn="arn:aws:iam::123456789012:role/eks",
        vpc_config={"subnet_ids": ["subnet-1"]},
        tags=tags("data" if cell else "control", cell),
        opts=options,
    )


def _data_node_group(cluster: aws.eks.Cluster, options, taints: list) -> None:
    aws.eks.NodeGroup(
        "data-pool",
        cluster_name=cluster.name,
        node_role_arn="arn:aws:iam::123456789012:role/nodes",
        subnet_ids=["subnet-1"],
        scaling_config={"desired_size": 3, "min_size": 3, "max_size": 6},
        labels={"cellarch.io/plane": "data"},
        taints=taints,
        tags=tags("data", "cell-1"),
        opts=options,
    )


def test_data_pool_without_taint_on_aws():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        _data_node_group(_eks_cluster("cell-1-eks", "cell-1", options), options, taints=[])

    report = run_pack(program)

    assert report.details("i01-data-pool-isolated") == [
        "node pool data-pool: data-plane pool has no taint cellarch.io/plane=data:NoSchedule"
    ]


def test_data_pool_without_label_on_gcp():
    def program():
        gcp.container.NodePool(
            "data-pool",
            cluster="projects/p/locations/europe-west1/clusters/cell-1",
            node_config={
                "resource_labels": tags("data", "cell-1"),
                "taints": [DATA_TAINT],
            },
            opts=pulumi.ResourceOptions(provider=gcp_provider()),
        )

    report = run_pack(program)

    assert report.details("i01-data-pool-isolated") == [
        "node pool data-pool: data-plane pool nodes lack the label cellarch.io/plane=data "
        "(found None)"
    ]


def test_data_pool_with_label_and_taint_on_gcp():
    def program():
        gcp.container.NodePool(
            "data-pool",
            cluster="projects/p/locations/europe-west1/clusters/cell-1",
            node_config={
                "resource_labels": tags("data", "cell-1"),
                "labels": {"cellarch.io/plane": "data"},
                "taints": [DATA_TAINT],
            },
            opts=pulumi.ResourceOptions(provider=gcp_provider()),
        )

    report = run_pack(program)

    assert report.details("i01-data-pool-isolated") == []


def test_data_workload_without_node_selector_on_kubernetes():
    report = run_pack(lambda: Pod(node_selector={}).create(kube_provider()))

    assert report.details("i01-data-workload-on-data-pool") == [
        "Deployment orders: data-plane pods do not select nodes labelled cellarch.io/plane=data, "
        "so they may run beside the control plane"
    ]


def test_collector_tolerating_data_taint_on_kubernetes():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        cluster = _eks_cluster("cell-1-eks", "cell-1", options)
        _data_node_group(cluster, options, taints=[DATA_TAINT])
        Pod(
            name="collector",
            plane="observability",
            sidecar=None,
            agent=None,
            service_target=None,
            tolerations=[{"key": "cellarch.io/plane", "operator": "Exists"}],
        ).create(kube_provider(depends_on=[cluster]))

    report = run_pack(program)

    assert report.details("i01-no-shared-scheduling") == [
        "Deployment collector: observability-plane pods can be scheduled onto data-plane "
        "node pool data-pool"
    ]


def test_collector_without_toleration_stays_off_data_pool():
    def program():
        options = pulumi.ResourceOptions(provider=aws_provider())
        cluster = _eks_cluster("cell-1-eks", "cell-1", options)
        _data_node_group(cluster, options, taints=[DATA_TAINT])
        Pod(
            name="collector", plane="observability", sidecar=None, agent=None, service_target=None
        ).create(kube_provider(depends_on=[cluster]))

    report = run_pack(program)

    assert report.details("i01-no-shared-scheduling") == []


def test_control_plane_workload_in_cell_cluster_on_kubernetes():
    def program():
        cluster = _eks_cluster(
            "cell-1-eks", "cell-1", pulumi.ResourceOptions(provider=aws_provider())
        )
        Pod(
            name="controller",
            plane="control",
            cell=None,
            sidecar=None,
            agent=None,
            service_target=None,
        ).create(kube_provider(depends_on=[cluster]))

    report = run_pack(program)

    assert report.details("i01-control-plane-own-cluster") == [
        "Deployment controller: control-plane workload runs in EKS cluster cell-1-eks of cell "
        "cell-1; the region's control plane needs a cluster of its own"
    ]
