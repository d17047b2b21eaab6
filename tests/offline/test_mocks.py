"""The offline mocks: realistic IDs and computed values, camelCase keys, unknowns in preview."""

import re

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from offline import UNKNOWN, run_program

ACCOUNT = "210987654321"
CAMEL_CASE = re.compile(r"^[a-z][A-Za-z0-9]*$")


def _program() -> None:
    provider = aws.Provider("aws-eu", region="eu-west-1", allowed_account_ids=[ACCOUNT])
    google = gcp.Provider("gcp-eu", project="cellarch-mocks", region="europe-west1")
    opts = pulumi.ResourceOptions(provider=provider)
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16", opts=opts)
    aws.ec2.Subnet(
        "subnet", vpc_id=vpc.id, cidr_block="10.1.0.0/24", availability_zone="eu-west-1b", opts=opts
    )
    aws.kms.Key("key", opts=opts)
    aws.sqs.Queue("queue", opts=opts)
    aws.eks.Cluster(
        "cluster", role_arn="arn:aws:iam::1:role/r", vpc_config={"subnet_ids": []}, opts=opts
    )
    gcp.compute.Network(
        "network", auto_create_subnetworks=False, opts=pulumi.ResourceOptions(provider=google)
    )
    caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    pulumi.export("account", caller.account_id)


@pytest.fixture(scope="module", params=[True, False], ids=["preview", "update"])
def recording(request):
    return run_program(_program, stack="mocks-test", preview=request.param)


def _one(recording, type_):
    (record,) = recording.of_type(type_)
    return record


def test_arns_name_account_and_region(recording):
    vpc = _one(recording, "aws:ec2/vpc:Vpc")
    key = _one(recording, "aws:kms/key:Key")
    queue = _one(recording, "aws:sqs/queue:Queue")
    if recording.preview:
        assert vpc.id is None
        assert "arn" not in key.outputs
        return
    assert re.fullmatch(r"vpc-[0-9a-f]{17}", vpc.id)
    assert vpc.outputs["arn"] == f"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/{vpc.id}"
    assert key.outputs["arn"] == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key.id}"
    assert queue.id.startswith(f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/queue-")


def test_dependent_inputs_are_unknown_only_in_preview(recording):
    subnet = _one(recording, "aws:ec2/subnet:Subnet")
    vpc = _one(recording, "aws:ec2/vpc:Vpc")
    if recording.preview:
        assert subnet.inputs["vpcId"] == UNKNOWN
    else:
        assert subnet.inputs["vpcId"] == vpc.id
        assert subnet.outputs["availabilityZone"] == "eu-west-1b"


def test_outputs_are_keyed_in_camel_case(recording):
    for record in recording.resources:
        if record.custom and not record.is_provider:
            for key in record.outputs:
                assert CAMEL_CASE.match(key), f"{record.type}: {key}"


def test_cluster_endpoint_and_issuer(recording):
    cluster = _one(recording, "aws:eks/cluster:Cluster")
    if recording.preview:
        assert "endpoint" not in cluster.outputs
        return
    assert cluster.outputs["endpoint"].endswith(".gr7.eu-west-1.eks.amazonaws.com")
    (identity,) = cluster.outputs["identities"]
    assert identity["oidcs"][0]["issuer"].startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")


def test_gcp_ids_name_the_providers_project(recording):
    network = _one(recording, "gcp:compute/network:Network")
    if recording.preview:
        assert network.id is None
        return
    assert network.id.startswith("projects/cellarch-mocks/global/networks/network-")
    assert network.outputs["selfLink"].endswith(network.id)


def test_invokes_answer_in_both_modes(recording):
    assert recording.stack_outputs()["account"] == ACCOUNT
