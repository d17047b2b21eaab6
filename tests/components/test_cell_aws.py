"""The AWS cell: its resources, network, cluster, database, ingress and identity."""

import json
from collections import Counter

import pytest
from cell_harness import ADDRESSES, AWS_ZONES, BUNDLE_BUCKET, cell_args, run_cell

from components.cell import NodePoolArgs
from offline import UNKNOWN

# Resources of one AWS cell with three zones, three NAT gateways and three services.
EXPECTED_AWS_RESOURCES = {
    "aws:autoscaling/attachment:Attachment": 1,
    "aws:cloudwatch/logGroup:LogGroup": 1,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
    "aws:ec2/eip:Eip": 3,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/natGateway:NatGateway": 3,
    "aws:ec2/route:Route": 4,
    "aws:ec2/routeTable:RouteTable": 5,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 9,
    "aws:ec2/securityGroup:SecurityGroup": 2,
    "aws:ec2/securityGroupRule:SecurityGroupRule": 1,
    "aws:ec2/subnet:Subnet": 9,
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    "aws:eks/addon:Addon": 4,
    "aws:eks/cluster:Cluster": 1,
    "aws:eks/nodeGroup:NodeGroup": 2,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
    "aws:iam/role:Role": 4,
    "aws:iam/rolePolicy:RolePolicy": 3,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 4,
    "aws:kms/alias:Alias": 1,
    "aws:kms/key:Key": 1,
    "aws:lb/listener:Listener": 1,
    "aws:lb/loadBalancer:LoadBalancer": 1,
    "aws:lb/targetGroup:TargetGroup": 1,
    "aws:rds/instance:Instance": 1,
    "aws:rds/parameterGroup:ParameterGroup": 1,
    "aws:rds/subnetGroup:SubnetGroup": 1,
    "aws:secretsmanager/secret:Secret": 1,
    "aws:secretsmanager/secretVersion:SecretVersion": 1,
    "cellarch:index:Cell": 1,
    "cellarch:index:CellWorkloads": 1,
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
    return run_cell("aws", preview=request.param)


@pytest.fixture(scope="module")
def update_run():
    return run_cell("aws", preview=False)


def _one(run, type_: str, name: str):
    (record,) = [r for r in run.of_type(type_) if r.name == name]
    return record


def test_aws_cell_resource_counts(run):
    counts = Counter(record.type for record in run.resources())
    assert dict(counts) == EXPECTED_AWS_RESOURCES
    assert sum(counts.values()) == 105


def test_vpc_takes_the_cell_range(run):
    (vpc,) = run.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.1.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True


def test_subnets_cover_three_zones_per_tier(run):
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    by_tier: dict[str, list] = {}
    for subnet in subnets:
        by_tier.setdefault(subnet.inputs["tags"]["cellarch.io/tier"], []).append(subnet)
    assert sorted(by_tier) == ["isolated", "private", "public"]
    for tier, expected in (
        ("public", ADDRESSES.public_subnets),
        ("private", ADDRESSES.private_subnets),
        ("isolated", ADDRESSES.isolated_subnets),
    ):
        assert sorted(s.inputs["availabilityZone"] for s in by_tier[tier]) == AWS_ZONES
        assert sorted(s.inputs["cidrBlock"] for s in by_tier[tier]) == sorted(expected)
    for subnet in subnets:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


def test_one_nat_gateway_per_zone_by_default(run):
    gateways = run.of_type("aws:ec2/natGateway:NatGateway")
    assert sorted(g.name for g in gateways) == [f"cell-1-nat-{zone}" for zone in AWS_ZONES]


def test_nat_gateway_count_goes_down_to_one():
    cheap = run_cell("aws", preview=True, args=cell_args("aws", nat_gateway_count=1))
    assert [g.name for g in cheap.of_type("aws:ec2/natGateway:NatGateway")] == [
        "cell-1-nat-us-east-1a"
    ]
    assert len(cheap.of_type("aws:ec2/eip:Eip")) == 1
    private_routes = [
        r for r in cheap.of_type("aws:ec2/route:Route") if "private-default-route" in r.name
    ]
    assert len(private_routes) == 3


def test_private_routes_use_their_own_zones_gateway(update_run):
    nat_urns = {
        record.name.removeprefix("cell-1-nat-"): record.urn
        for record in update_run.of_type("aws:ec2/natGateway:NatGateway")
    }
    for zone in AWS_ZONES:
        route = _one(update_run, "aws:ec2/route:Route", f"cell-1-private-default-route-{zone}")
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.property_dependencies["natGatewayId"] == [nat_urns[zone]]


def test_isolated_route_table_has_no_route_out(run):
    table = _one(run, "aws:ec2/routeTable:RouteTable", "cell-1-isolated-rt")
    routes = [r for r in run.of_type("aws:ec2/route:Route") if table.urn in r.dependencies]
    assert routes == []
    assert "routes" not in table.inputs


def test_flow_logs_capture_all_traffic(run):
    (flow_log,) = run.of_type("aws:ec2/flowLog:FlowLog")
    (log_group,) = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert log_group.inputs["retentionInDays"] == 90


def test_default_security_group_has_no_rules(run):
    (group,) = run.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in group.inputs
    assert "egress" not in group.inputs


def test_data_node_group_is_labelled_and_tainted(run):
    group = _one(run, "aws:eks/nodeGroup:NodeGroup", "cell-1-data-nodes")
    assert group.inputs["labels"] == {"cellarch.io/plane": "data", "cellarch.io/pool": "data"}
    assert group.inputs["taints"] == [
        {"key": "cellarch.io/plane", "value": "data", "effect": "NO_SCHEDULE"}
    ]
    assert group.inputs["tags"]["plane"] == "data"
    assert group.inputs["scalingConfig"] == {"minSize": 3, "maxSize": 12, "desiredSize": 3}
    assert group.inputs["instanceTypes"] == ["m6i.xlarge"]


def test_system_node_group_is_untainted_control_plane(run):
    group = _one(run, "aws:eks/nodeGroup:NodeGroup", "cell-1-system-nodes")
    assert group.inputs["labels"] == {"cellarch.io/plane": "control", "cellarch.io/pool": "system"}
    assert group.inputs.get("taints", []) == []
    assert group.inputs["tags"]["plane"] == "control"


def test_node_pool_sizing_comes_from_the_arguments():
    sized = run_cell(
        "aws",
        preview=True,
        args=cell_args(
            "aws",
            data_pool=NodePoolArgs(
                machine_type="c7i.2xlarge", min_size=6, max_size=30, desired_size=9
            ),
        ),
    )
    group = _one(sized, "aws:eks/nodeGroup:NodeGroup", "cell-1-data-nodes")
    assert group.inputs["instanceTypes"] == ["c7i.2xlarge"]
    assert group.inputs["scalingConfig"] == {"minSize": 6, "maxSize": 30, "desiredSize": 9}


def test_cluster_is_private_and_encrypted_with_the_cell_key(update_run):
    (cluster,) = update_run.of_type("aws:eks/cluster:Cluster")
    (key,) = update_run.of_type("aws:kms/key:Key")
    config = cluster.inputs["vpcConfig"]
    assert config["endpointPrivateAccess"] is True
    assert config["endpointPublicAccess"] is False
    assert len(config["subnetIds"]) == 3
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"] == key.outputs["arn"]
    assert cluster.inputs["version"] == "1.33"


def test_vpc_cni_enforces_network_policies(run):
    addon = _one(run, "aws:eks/addon:Addon", "cell-1-addon-vpc-cni")
    assert json.loads(addon.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_database_meets_the_protection_rules(update_run):
    (instance,) = update_run.of_type("aws:rds/instance:Instance")
    (key,) = update_run.of_type("aws:kms/key:Key")
    inputs = instance.inputs
    assert inputs["engine"] == "postgres"
    assert inputs["multiAz"] is True
    assert inputs["storageEncrypted"] is True
    assert inputs["kmsKeyId"] == key.outputs["arn"]
    assert inputs["publiclyAccessible"] is False
    assert inputs["backupRetentionPeriod"] == 14
    assert inputs["deletionProtection"] is True
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] == "cellarch-us-east-1-cell-1-final"


def test_database_sits_in_the_isolated_subnets(update_run):
    (group,) = update_run.of_type("aws:rds/subnetGroup:SubnetGroup")
    isolated = [
        s.urn
        for s in update_run.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["cellarch.io/tier"] == "isolated"
    ]
    assert len(isolated) == 3
    assert sorted(group.property_dependencies["subnetIds"]) == sorted(isolated)
    assert len(group.inputs["subnetIds"]) == 3
    assert all(subnet_id.startswith("subnet-") for subnet_id in group.inputs["subnetIds"])


def test_database_forces_tls(run):
    (parameters,) = run.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert parameters.inputs["family"] == "postgres16"
    assert parameters.inputs["parameters"] == [{"name": "rds.force_ssl", "value": "1"}]


def test_database_admits_only_private_subnets(run):
    group = _one(run, "aws:ec2/securityGroup:SecurityGroup", "cell-1-db-sg")
    (rule,) = group.inputs["ingress"]
    assert rule["fromPort"] == 5432
    assert rule["toPort"] == 5432
    assert rule["cidrBlocks"] == list(ADDRESSES.private_subnets)


def test_dev_database_skips_deletion_protection():
    dev = run_cell("aws", preview=True, args=cell_args("aws", environment="dev"))
    (instance,) = dev.of_type("aws:rds/instance:Instance")
    assert instance.inputs["deletionProtection"] is False
    assert instance.inputs["skipFinalSnapshot"] is True
    (balancer,) = dev.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["enableDeletionProtection"] is False


def test_key_rotates(run):
    (key,) = run.of_type("aws:kms/key:Key")
    (alias,) = run.of_type("aws:kms/alias:Alias")
    assert key.inputs["enableKeyRotation"] is True
    assert alias.inputs["name"] == "alias/cellarch/us-east-1/cell-1"


def test_ingress_load_balancer_forwards_to_the_node_port(run):
    (balancer,) = run.of_type("aws:lb/loadBalancer:LoadBalancer")
    (targets,) = run.of_type("aws:lb/targetGroup:TargetGroup")
    (listener,) = run.of_type("aws:lb/listener:Listener")
    assert balancer.inputs["loadBalancerType"] == "network"
    assert balancer.inputs["internal"] is False
    assert balancer.inputs["enableDeletionProtection"] is True
    assert targets.inputs["port"] == 30443
    assert targets.inputs["targetType"] == "instance"
    assert listener.inputs["port"] == 443
    ingress = _one(run, "kubernetes:core/v1:Service", "cell-1-workloads-ingress")
    assert ingress.inputs["spec"]["type"] == "NodePort"
    assert ingress.inputs["spec"]["ports"][0]["nodePort"] == 30443


def test_ingress_targets_the_data_node_group(update_run):
    (attachment,) = update_run.of_type("aws:autoscaling/attachment:Attachment")
    group = _one(update_run, "aws:eks/nodeGroup:NodeGroup", "cell-1-data-nodes")
    expected = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    assert attachment.inputs["autoscalingGroupName"] == expected


def test_bundle_reader_trusts_only_the_cells_service_accounts(update_run):
    role = _one(update_run, "aws:iam/role:Role", "cell-1-bundle-reader")
    (oidc,) = update_run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": oidc.outputs["arn"]}
    issuer = oidc.inputs["url"].removeprefix("https://")
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:aud": "sts.amazonaws.com",
        f"{issuer}:sub": [
            "system:serviceaccount:cell-cell-1:orders",
            "system:serviceaccount:cell-cell-1:ledger",
            "system:serviceaccount:cell-cell-1:audit",
        ],
    }


def test_bundle_reader_trust_is_unknown_in_preview():
    preview = run_cell("aws", preview=True)
    role = _one(preview, "aws:iam/role:Role", "cell-1-bundle-reader")
    assert role.inputs["assumeRolePolicy"] == UNKNOWN


def test_bundle_reader_reads_only_the_bundle_prefix(run):
    policy = _one(run, "aws:iam/rolePolicy:RolePolicy", "cell-1-bundle-reader-policy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == f"arn:aws:s3:::{BUNDLE_BUCKET}/bundles/authz/*"


def test_service_accounts_carry_the_bundle_reader_role(update_run):
    role = _one(update_run, "aws:iam/role:Role", "cell-1-bundle-reader")
    accounts = update_run.of_type("kubernetes:core/v1:ServiceAccount")
    assert len(accounts) == 3
    for account in accounts:
        annotations = account.inputs["metadata"]["annotations"]
        assert annotations == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
