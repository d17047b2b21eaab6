"""The reference program on every shipped stack, in preview and update mode."""

import pytest
from program_harness import (
    CELLS_OF_STACK,
    CLOUD_OF_STACK,
    COMPONENT_TYPES,
    REGION_OF_STACK,
    STACK_MODES,
    cells_of,
    known,
    outside_cells,
    provider_named,
    run_stack,
)

from offline import UNKNOWN
from offline.inventory import resource_labels
from offline.recorder import STACK_TYPE

PLANES = {"data", "control", "governance", "observability"}
SIDECARS = ["envoy", "policy-agent", "otel-collector"]
PLANE_TAINT = {"key": "cellarch.io/plane", "value": "data", "effect": "NO_SCHEDULE"}

# Resource types whose cloud API takes neither labels, tags, metadata nor a description.
# Each is attached to one labelled resource (a route to its route table, a grant to its key
# or account, a bucket setting to its bucket), which names the plane and cell for it.
UNLABELLED = {
    "aws": {
        "aws:autoscaling/attachment:Attachment",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:kms/alias:Alias",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        "random:index/randomPassword:RandomPassword",
        "tls:index/certRequest:CertRequest",
        "tls:index/locallySignedCert:LocallySignedCert",
        "tls:index/privateKey:PrivateKey",
        "tls:index/selfSignedCert:SelfSignedCert",
    },
    "gcp": {
        "gcp:compute/routerNat:RouterNat",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        "gcp:kms/keyRing:KeyRing",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/serviceIdentity:ServiceIdentity",
        "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
        "gcp:pubsub/topicIAMMember:TopicIAMMember",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:sql/database:Database",
        "gcp:sql/user:User",
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "random:index/randomPassword:RandomPassword",
        "tls:index/certRequest:CertRequest",
        "tls:index/locallySignedCert:LocallySignedCert",
        "tls:index/privateKey:PrivateKey",
        "tls:index/selfSignedCert:SelfSignedCert",
    },
}

# Resources of one cell by type: the Cell itself and everything under it.
AWS_CELL_COUNTS = {
    "cellarch:index:Cell": 1,
    "cellarch:index:CellWorkloads": 1,
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/subnet:Subnet": 9,
    "aws:ec2/natGateway:NatGateway": 3,
    "aws:ec2/eip:Eip": 3,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:eks/cluster:Cluster": 1,
    "aws:eks/nodeGroup:NodeGroup": 2,
    "aws:kms/key:Key": 1,
    "aws:rds/instance:Instance": 1,
    "aws:lb/loadBalancer:LoadBalancer": 1,
    "kubernetes:apps/v1:Deployment": 3,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 5,
    "kubernetes:policy/v1:PodDisruptionBudget": 3,
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 3,
}
GCP_CELL_COUNTS = {
    "cellarch:index:Cell": 1,
    "cellarch:index:CellWorkloads": 1,
    "gcp:compute/network:Network": 1,
    "gcp:compute/subnetwork:Subnetwork": 2,
    "gcp:compute/router:Router": 1,
    "gcp:compute/routerNat:RouterNat": 1,
    "gcp:container/cluster:Cluster": 1,
    "gcp:container/nodePool:NodePool": 2,
    "gcp:kms/cryptoKey:CryptoKey": 1,
    "gcp:sql/databaseInstance:DatabaseInstance": 1,
    "gcp:compute/forwardingRule:ForwardingRule": 1,
    "kubernetes:apps/v1:Deployment": 3,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 5,
    "kubernetes:policy/v1:PodDisruptionBudget": 3,
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 3,
}
CELL_TOTALS = {"aws": 105, "gcp": 60}
# The resources behind each certificate that the telemetry authority signs.
TLS_PARTS = ("certificate", "key", "request")
STACK_TOTALS = {"aws-us-east-1": 545, "aws-eu-west-1": 436, "gcp-europe-west1": 255}


@pytest.fixture(scope="module", params=STACK_MODES)
def run(request):
    stack, preview = request.param
    return stack, preview, run_stack(stack, preview)


def test_program_declares_the_configured_cells(run):
    stack, _, recording = run
    assert list(cells_of(recording)) == CELLS_OF_STACK[stack]
    assert len(recording.resources) == STACK_TOTALS[stack]


def test_resource_counts_per_cell(run):
    stack, _, recording = run
    cloud = CLOUD_OF_STACK[stack]
    expected = AWS_CELL_COUNTS if cloud == "aws" else GCP_CELL_COUNTS
    for cell, resources in cells_of(recording).items():
        assert len(resources) == CELL_TOTALS[cloud], cell
        for type_, count in expected.items():
            found = [r for r in resources if r.type == type_]
            assert len(found) == count, f"{cell}: {type_}"


def test_every_child_has_a_recorded_parent(run):
    _, _, recording = run
    by_urn = recording.by_urn()
    for record in recording.resources:
        if record.type == STACK_TYPE:
            continue
        assert record.parent in by_urn, f"{record.type} {record.name}: {record.parent}"


def test_components_hang_from_the_stack_and_region(run):
    _, _, recording = run
    (stack,) = recording.of_type(STACK_TYPE)
    (region,) = recording.of_type("cellarch:index:Region")
    for type_ in ("Region", "GovernancePlane", "ObservabilityStack"):
        (component,) = recording.of_type(f"cellarch:index:{type_}")
        assert component.parent == stack.urn, type_
    for cell in recording.of_type("cellarch:index:Cell"):
        assert cell.parent == region.urn, cell.name
    for workloads in recording.of_type("cellarch:index:CellWorkloads"):
        (cell,) = [c for c in recording.of_type("cellarch:index:Cell") if c.urn == workloads.parent]
        assert workloads.name == f"{cell.name}-workloads"


def test_only_providers_sit_directly_under_the_stack(run):
    _, _, recording = run
    (stack,) = recording.of_type(STACK_TYPE)
    direct = sorted(r.type for r in recording.children(stack.urn) if r.custom)
    cloud = CLOUD_OF_STACK[recording.stack]
    assert direct == sorted(
        [f"pulumi:providers:{cloud}", "pulumi:providers:random", "pulumi:providers:tls"]
    )


def test_cloud_resources_use_the_stacks_provider(run):
    stack, _, recording = run
    cloud = CLOUD_OF_STACK[stack]
    provider = provider_named(recording, cloud, f"{cloud}-{REGION_OF_STACK[stack]}")
    assert provider.inputs["region"] == REGION_OF_STACK[stack]
    resources = [r for r in recording.resources if r.custom and r.package == cloud]
    assert len(resources) > 100
    for record in resources:
        if record.is_provider:
            continue
        assert record.provider_urn == provider.urn, f"{record.type} {record.name}"


def test_kubernetes_resources_use_their_clusters_provider(run):
    _, _, recording = run
    for cell, resources in cells_of(recording).items():
        provider = provider_named(recording, "kubernetes", f"{cell}-kubernetes")
        objects = [r for r in resources if r.custom and r.package == "kubernetes"]
        assert len(objects) == 29, cell
        for record in objects:
            assert record.provider_urn == provider.urn, f"{cell}: {record.type} {record.name}"
    control = provider_named(recording, "kubernetes", "control-kubernetes")
    regional = [r for r in outside_cells(recording) if r.custom and r.package == "kubernetes"]
    assert len(regional) >= 15
    for record in regional:
        assert record.provider_urn == control.urn, f"{record.type} {record.name}"


def test_random_and_tls_use_the_programs_providers(run):
    stack, _, recording = run
    random_provider = provider_named(recording, "random", "random")
    tls_provider = provider_named(recording, "tls", "tls")
    for record in recording.of_type("random:index/randomPassword:RandomPassword"):
        assert record.provider_urn == random_provider.urn, record.name
    # The bundle signing key, the router's key and certificate, the telemetry authority,
    # and the certificates it signs: one per cell and one for the gateway.
    tls_resources = [r for r in recording.resources if r.package == "tls" and r.custom]
    signed = [f"{cell}-client" for cell in CELLS_OF_STACK[stack]] + ["gateway"]
    assert sorted(r.name for r in tls_resources if not r.is_provider) == sorted(
        [
            "governance-signing-key",
            "region-router-tls-certificate",
            "region-router-tls-key",
            "region-telemetry-ca-certificate",
            "region-telemetry-ca-key",
            *(f"region-telemetry-{name}-{part}" for name in signed for part in TLS_PARTS),
        ]
    )
    for record in tls_resources:
        if not record.is_provider:
            assert record.provider_urn == tls_provider.urn, record.name


def test_no_resource_uses_a_default_provider(run):
    _, _, recording = run
    for record in recording.resources:
        if record.custom and not record.is_provider:
            assert record.provider is not None, f"{record.type} {record.name}"
            assert "::default::" not in record.provider, f"{record.type} {record.name}"


def test_secrets_are_marked_secret(run):
    stack, _, recording = run
    (program,) = recording.of_type(STACK_TYPE)
    assert program.secret_outputs == ["bundleSigningPrivateKey"]
    keys = recording.of_type("tls:index/privateKey:PrivateKey")
    # Signing, router, telemetry authority, gateway, and one client key per cell.
    assert len(keys) == 4 + len(CELLS_OF_STACK[stack])
    for key in keys:
        assert "privateKeyPem" in key.additional_secret_outputs, key.name
    for record in recording.of_type("pulumi:providers:kubernetes"):
        assert "kubeconfig" in record.secret_inputs, record.name
    for record in recording.of_type("kubernetes:core/v1:Secret"):
        assert "stringData" in record.secret_inputs, record.name
    database_type = (
        "aws:rds/instance:Instance" if CLOUD_OF_STACK[stack] == "aws" else "gcp:sql/user:User"
    )
    databases = recording.of_type(database_type)
    assert len(databases) == len(CELLS_OF_STACK[stack])
    for record in databases:
        assert "password" in record.secret_inputs, record.name


def test_secret_values_are_redacted_in_the_inventory(run):
    _, preview, recording = run
    records = {r["name"]: r for r in recording.to_json()}
    stack_record = next(r for r in records.values() if r["type"] == STACK_TYPE)
    assert stack_record["component_outputs"]["bundleSigningPrivateKey"] == "[secret]"
    for record in records.values():
        if record["type"] == "random:index/randomPassword:RandomPassword" and not preview:
            assert record["outputs"]["result"] == "[secret]"


def test_every_resource_is_labelled(run):
    stack, _, recording = run
    cloud = CLOUD_OF_STACK[stack]
    cell_urns = {r.urn: cell for cell, rs in cells_of(recording).items() for r in rs}
    unlabelled = set()
    for record in recording.resources:
        if not record.custom or record.is_provider:
            continue
        labels = resource_labels(record)
        if labels is None:
            unlabelled.add(record.type)
            continue
        where = f"{record.type} {record.name}"
        assert labels.get("plane") in PLANES, where
        assert labels.get("region") == REGION_OF_STACK[stack], where
        assert labels.get("stack") == stack, where
        assert labels.get("managed-by") == "cellarch", where
        assert labels.get("cell") == cell_urns.get(record.urn), where
    assert unlabelled == UNLABELLED[cloud]


def test_sidecars_in_every_data_plane_deployment(run):
    _, _, recording = run
    cell_urns = {r.urn for rs in cells_of(recording).values() for r in rs}
    checked = 0
    for record in recording.of_type("kubernetes:apps/v1:Deployment"):
        labels = resource_labels(record)
        if labels.get("plane") != "data":
            continue
        containers = [c["name"] for c in record.inputs["spec"]["template"]["spec"]["containers"]]
        if record.urn not in cell_urns:
            # The router is Envoy itself, in front of the cells, so it has no sidecars.
            assert record.name == "region-router-deployment"
            assert containers == ["envoy"]
            continue
        assert containers[1:] == SIDECARS, record.name
        checked += 1
    assert checked == 3 * len(cells_of(recording))


def test_pods_select_their_planes_pool(run):
    _, _, recording = run
    for record in recording.of_type("kubernetes:apps/v1:Deployment"):
        spec = record.inputs["spec"]["template"]["spec"]
        if resource_labels(record).get("plane") == "data":
            assert spec["nodeSelector"] == {"cellarch.io/plane": "data"}, record.name
            assert spec["tolerations"] == [
                {
                    "key": "cellarch.io/plane",
                    "operator": "Equal",
                    "value": "data",
                    "effect": "NoSchedule",
                }
            ], record.name
        else:
            assert spec["nodeSelector"] == {"cellarch.io/plane": "control"}, record.name
            assert "tolerations" not in spec, record.name


def test_data_plane_pools_are_tainted(run):
    stack, _, recording = run
    cloud = CLOUD_OF_STACK[stack]
    pool_type = (
        "aws:eks/nodeGroup:NodeGroup" if cloud == "aws" else "gcp:container/nodePool:NodePool"
    )
    pools = recording.of_type(pool_type)
    # Two pools per cluster: one per cell and the control-plane cluster's.
    assert len(pools) == 2 * (len(CELLS_OF_STACK[stack]) + 1)
    data_pools = 0
    for pool in pools:
        settings = pool.inputs if cloud == "aws" else pool.inputs["nodeConfig"]
        if settings["labels"]["cellarch.io/plane"] == "data":
            assert settings["taints"] == [PLANE_TAINT], pool.name
            data_pools += 1
        else:
            assert settings["labels"]["cellarch.io/plane"] == "control", pool.name
            assert settings["taints"] == [], pool.name
    assert data_pools == len(CELLS_OF_STACK[stack]) + 1


def test_control_plane_runs_in_its_own_cluster(run):
    stack, preview, recording = run
    cloud = CLOUD_OF_STACK[stack]
    cluster_type = "aws:eks/cluster:Cluster" if cloud == "aws" else "gcp:container/cluster:Cluster"
    network_type = "aws:ec2/vpc:Vpc" if cloud == "aws" else "gcp:compute/network:Network"
    (region,) = recording.of_type("cellarch:index:Region")
    clusters = recording.of_type(cluster_type)
    assert len(clusters) == len(CELLS_OF_STACK[stack]) + 1
    (control,) = [c for c in clusters if c.parent == region.urn]
    (control_network,) = [n for n in recording.of_type(network_type) if n.parent == region.urn]
    assert control.name == f"control-{'eks' if cloud == 'aws' else 'gke'}"
    if preview:
        assert control_network.id is None
        return
    network_id = known(control_network.id, "control-plane network id")
    if cloud == "gcp":
        assert control.inputs["network"] == network_id
    else:
        subnets = {
            s.id
            for s in recording.of_type("aws:ec2/subnet:Subnet")
            if s.inputs["vpcId"] == network_id
        }
        assert len(subnets) == 9
        assert set(known(control.inputs["vpcConfig"]["subnetIds"], "subnets")) <= subnets
    cell_networks = {n.id for n in recording.of_type(network_type) if n.parent != region.urn}
    assert network_id not in cell_networks
    assert len(cell_networks) == len(CELLS_OF_STACK[stack])


def test_components_register_outputs_once(run):
    _, _, recording = run
    components = [r for r in recording.resources if r.type in COMPONENT_TYPES]
    assert len(components) == 3 + 2 * len(CELLS_OF_STACK[recording.stack])
    for record in components:
        assert record.output_registrations == 1, f"{record.type} {record.name}"
    (program,) = recording.of_type(STACK_TYPE)
    assert program.output_registrations == 1


def test_rollout_outputs(run):
    stack, _, recording = run
    outputs = recording.stack_outputs()
    expected = {
        "aws-us-east-1": [["cell-1"], ["cell-2"], ["cell-3", "cell-4"]],
        "aws-eu-west-1": [["dublin-1"], ["dublin-2"], ["dublin-3"]],
        "gcp-europe-west1": [["brussels-3"], ["brussels-1"], ["brussels-2"]],
    }[stack]
    assert outputs["rolloutWaves"] == expected
    assert outputs["canary"] == expected[0][0]
    assert outputs["cells"] == CELLS_OF_STACK[stack]


def test_computed_outputs_are_unknown_only_in_preview(run):
    stack, preview, recording = run
    outputs = recording.stack_outputs()
    if preview:
        assert outputs["routerAddress"] == UNKNOWN
        assert outputs["bundleBucket"] == UNKNOWN
        return
    router = known(outputs["routerAddress"], "routerAddress")
    bucket = known(outputs["bundleBucket"], "bundleBucket")
    assert bucket.startswith("governance-bundles-")
    if CLOUD_OF_STACK[stack] == "aws":
        assert router.endswith(f".elb.{REGION_OF_STACK[stack]}.amazonaws.com")
        assert known(outputs["queueId"], "queueId").startswith(
            f"https://sqs.{REGION_OF_STACK[stack]}.amazonaws.com/"
        )
    else:
        assert router.count(".") == 3
        assert known(outputs["queueId"], "queueId").startswith("projects/cellarch-europe/topics/")
    assert sorted(known(outputs["cellIngress"], "cellIngress")) == sorted(CELLS_OF_STACK[stack])


def test_known_fails_on_an_unknown_value():
    with pytest.raises(AssertionError, match="is unknown"):
        known({"a": [1, UNKNOWN]}, "a nested value")
    assert known({"a": [1, 2]}, "a nested value") == {"a": [1, 2]}
