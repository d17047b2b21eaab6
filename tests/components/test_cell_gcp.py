"""The GCP cell: its resources, network, cluster, database, ingress and identity."""

from collections import Counter

import pytest
from cell_harness import ADDRESSES, BUNDLE_BUCKET, GCP_PROJECT, GCP_ZONES, cell_args, run_cell

from offline import UNKNOWN

# Resources of one GCP cell with three zones and three services.
EXPECTED_GCP_RESOURCES = {
    "cellarch:index:Cell": 1,
    "cellarch:index:CellWorkloads": 1,
    "gcp:compute/address:Address": 2,
    "gcp:compute/forwardingRule:ForwardingRule": 1,
    "gcp:compute/network:Network": 1,
    "gcp:compute/router:Router": 1,
    "gcp:compute/routerNat:RouterNat": 1,
    "gcp:compute/subnetwork:Subnetwork": 2,
    "gcp:container/cluster:Cluster": 1,
    "gcp:container/nodePool:NodePool": 2,
    "gcp:kms/cryptoKey:CryptoKey": 1,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 2,
    "gcp:kms/keyRing:KeyRing": 1,
    "gcp:projects/iAMMember:IAMMember": 1,
    "gcp:projects/serviceIdentity:ServiceIdentity": 2,
    "gcp:serviceaccount/account:Account": 2,
    "gcp:serviceaccount/iAMMember:IAMMember": 3,
    "gcp:sql/database:Database": 1,
    "gcp:sql/databaseInstance:DatabaseInstance": 1,
    "gcp:sql/user:User": 1,
    "gcp:storage/bucketIAMMember:BucketIAMMember": 1,
    "kubernetes:apps/v1:Deployment": 3,
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 3,
    "kubernetes:core/v1:ConfigMap": 5,
    "kubernetes:core/v1:Namespace": 1,
    "kubernetes:core/v1:Secret": 1,
    "kubernetes:core/v1:Service": 4,
    "kubernetes:core/v1:ServiceAccount": 3,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 5,
    "kubernetes:policy/v1:PodDisruptionBudget": 3,
    "pulumi:providers:kubernetes": 1,
    "pulumi:providers:random": 1,
    "random:index/randomPassword:RandomPassword": 1,
}


@pytest.fixture(scope="module", params=[True, False], ids=["preview", "update"])
def run(request):
    return run_cell("gcp", preview=request.param)


@pytest.fixture(scope="module")
def update_run():
    return run_cell("gcp", preview=False)


def _one(run, type_: str, name: str):
    (record,) = [r for r in run.of_type(type_) if r.name == name]
    return record


def test_gcp_cell_resource_counts(run):
    counts = Counter(record.type for record in run.resources())
    assert dict(counts) == EXPECTED_GCP_RESOURCES
    assert sum(counts.values()) == 60


def test_network_is_custom_mode(run):
    (network,) = run.of_type("gcp:compute/network:Network")
    assert network.inputs["autoCreateSubnetworks"] is False
    assert network.inputs["project"] == GCP_PROJECT


def test_node_subnetwork_has_secondary_ranges(run):
    nodes = _one(run, "gcp:compute/subnetwork:Subnetwork", "cell-1-nodes")
    assert nodes.inputs["ipCidrRange"] == ADDRESSES.private_subnets[0]
    assert nodes.inputs["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": ADDRESSES.pods_cidr},
        {"rangeName": "services", "ipCidrRange": ADDRESSES.services_cidr},
    ]
    assert nodes.inputs["privateIpGoogleAccess"] is True
    assert nodes.inputs["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"


def test_database_subnetwork_is_isolated(update_run):
    database = _one(update_run, "gcp:compute/subnetwork:Subnetwork", "cell-1-database")
    nodes = _one(update_run, "gcp:compute/subnetwork:Subnetwork", "cell-1-nodes")
    (nat,) = update_run.of_type("gcp:compute/routerNat:RouterNat")
    assert database.inputs["ipCidrRange"] == ADDRESSES.isolated_subnets[0]
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    (only,) = nat.inputs["subnetworks"]
    assert only["name"].endswith("/subnetworks/" + nodes.outputs["name"])
    assert only["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]
    assert nat.property_dependencies["subnetworks"] == [nodes.urn]


def test_network_descriptions_carry_the_labels(run):
    expected = "cell=cell-1 managed-by=cellarch plane=data region=europe-west1 stack=test-stack"
    for type_ in (
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
    ):
        for record in run.of_type(type_):
            assert record.inputs["description"] == expected, record.name


def test_cluster_is_private_with_dataplane_v2(run):
    (cluster,) = run.of_type("gcp:container/cluster:Cluster")
    private = cluster.inputs["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["enablePrivateEndpoint"] is True
    assert private["masterIpv4CidrBlock"] == ADDRESSES.control_plane_cidr
    assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["nodeLocations"] == GCP_ZONES
    assert cluster.inputs["workloadIdentityConfig"] == {
        "workloadPool": f"{GCP_PROJECT}.svc.id.goog"
    }
    assert cluster.inputs["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }


def test_cluster_secrets_use_the_cell_key(update_run):
    (cluster,) = update_run.of_type("gcp:container/cluster:Cluster")
    (key,) = update_run.of_type("gcp:kms/cryptoKey:CryptoKey")
    encryption = cluster.inputs["databaseEncryption"]
    assert encryption["state"] == "ENCRYPTED"
    assert encryption["keyName"].endswith("/cryptoKeys/" + key.outputs["name"])
    assert cluster.property_dependencies["databaseEncryption"] == [key.urn]


def test_api_allowed_cidrs_open_the_public_endpoint():
    opened = run_cell(
        "gcp", preview=True, args=cell_args("gcp", api_allowed_cidrs=["203.0.113.0/24"])
    )
    (cluster,) = opened.of_type("gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [
        {"cidrBlock": "203.0.113.0/24", "displayName": "allowed"}
    ]


def test_data_node_pool_is_labelled_and_tainted(run):
    pool = _one(run, "gcp:container/nodePool:NodePool", "cell-1-data-nodes")
    config = pool.inputs["nodeConfig"]
    assert config["labels"] == {"cellarch.io/plane": "data", "cellarch.io/pool": "data"}
    assert config["taints"] == [
        {"key": "cellarch.io/plane", "value": "data", "effect": "NO_SCHEDULE"}
    ]
    assert config["resourceLabels"]["plane"] == "data"
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert config["machineType"] == "e2-standard-4"
    assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 3
    assert pool.inputs["autoscaling"]["totalMaxNodeCount"] == 12
    assert pool.inputs["initialNodeCount"] == 1


def test_system_node_pool_is_untainted(run):
    pool = _one(run, "gcp:container/nodePool:NodePool", "cell-1-system-nodes")
    config = pool.inputs["nodeConfig"]
    assert config["labels"] == {"cellarch.io/plane": "control", "cellarch.io/pool": "system"}
    assert config.get("taints", []) == []


def test_database_meets_the_protection_rules(run):
    (instance,) = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    settings = instance.inputs["settings"]
    assert instance.inputs["databaseVersion"] == "POSTGRES_16"
    assert instance.inputs["deletionProtection"] is True
    assert settings["availabilityType"] == "REGIONAL"
    assert settings["deletionProtectionEnabled"] is True
    assert settings["ipConfiguration"]["ipv4Enabled"] is False
    assert settings["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    assert settings["ipConfiguration"]["pscConfigs"] == [
        {"pscEnabled": True, "allowedConsumerProjects": [GCP_PROJECT]}
    ]
    backup = settings["backupConfiguration"]
    assert backup["enabled"] is True
    assert backup["pointInTimeRecoveryEnabled"] is True
    assert backup["backupRetentionSettings"] == {"retainedBackups": 14, "retentionUnit": "COUNT"}
    assert settings["userLabels"]["cell"] == "cell-1"


def test_database_uses_the_cell_key(update_run):
    (instance,) = update_run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    (key,) = update_run.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert instance.property_dependencies["encryptionKeyName"] == [key.urn]
    assert instance.inputs["encryptionKeyName"].endswith("/cryptoKeys/" + key.outputs["name"])


def test_database_waits_for_the_key_grants(run):
    (instance,) = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    grants = run.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert len(grants) == 2
    for grant in grants:
        assert grant.urn in instance.dependencies


def test_key_grants_name_the_service_agents(update_run):
    grants = {
        g.name: g for g in update_run.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    }
    sql = grants["cell-1-key-sql-agent"].inputs
    gke = grants["cell-1-key-gke-agent"].inputs
    assert sql["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert sql["member"].endswith("@gcp-sa-cloud-sql.iam.gserviceaccount.com")
    assert gke["member"].endswith("@container-engine-robot.iam.gserviceaccount.com")


def test_database_endpoint_is_private_service_connect(update_run):
    (rule,) = update_run.of_type("gcp:compute/forwardingRule:ForwardingRule")
    endpoint = _one(update_run, "gcp:compute/address:Address", "cell-1-db-endpoint")
    (instance,) = update_run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert endpoint.inputs["addressType"] == "INTERNAL"
    assert rule.inputs["loadBalancingScheme"] == ""
    assert rule.inputs["target"] == instance.outputs["pscServiceAttachmentLink"]
    assert update_run.cell.component_outputs["database_host"] == endpoint.outputs["address"]


def test_database_target_is_unknown_in_preview():
    preview = run_cell("gcp", preview=True)
    (rule,) = preview.of_type("gcp:compute/forwardingRule:ForwardingRule")
    assert rule.inputs["target"] == UNKNOWN


def test_ingress_is_a_reserved_address_behind_a_load_balancer_service(update_run):
    address = _one(update_run, "gcp:compute/address:Address", "cell-1-ingress")
    service = _one(update_run, "kubernetes:core/v1:Service", "cell-1-workloads-ingress")
    assert address.inputs["addressType"] == "EXTERNAL"
    spec = service.inputs["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerIP"] == address.outputs["address"]
    assert spec["loadBalancerSourceRanges"] == ["0.0.0.0/0", "10.1.0.0/16"]
    assert spec["externalTrafficPolicy"] == "Local"
    assert update_run.cell.component_outputs["ingress_address"] == address.outputs["address"]


def test_bundle_reader_is_bound_to_each_service_account(update_run):
    bindings = update_run.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    assert sorted(b.inputs["member"] for b in bindings) == sorted(
        f"serviceAccount:{GCP_PROJECT}.svc.id.goog[cell-cell-1/{name}]"
        for name in ("orders", "ledger", "audit")
    )
    for binding in bindings:
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"


def test_bundle_reader_reads_only_the_bundle_prefix(run):
    (member,) = run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert member.inputs["bucket"] == BUNDLE_BUCKET
    assert member.inputs["role"] == "roles/storage.objectViewer"
    assert member.inputs["condition"]["expression"] == (
        f'resource.name.startsWith("projects/_/buckets/{BUNDLE_BUCKET}/objects/bundles/authz/")'
    )


def test_service_accounts_carry_the_google_account(update_run):
    reader = _one(update_run, "gcp:serviceaccount/account:Account", "cell-1-bundle-reader")
    for account in update_run.of_type("kubernetes:core/v1:ServiceAccount"):
        assert account.inputs["metadata"]["annotations"] == {
            "iam.gke.io/gcp-service-account": reader.outputs["email"]
        }


def test_service_account_ids_fit_gcp_limits(run):
    for account in run.of_type("gcp:serviceaccount/account:Account"):
        account_id = account.inputs["accountId"]
        assert 6 <= len(account_id) <= 30
        assert account_id[0].isalpha()
