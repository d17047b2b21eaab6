"""The package schema that `pulumi package add` derives from the four components.

The provider in `provider/` hosts the components with Pulumi's component analyzer. The
analyzer runs here offline on the same list of components, and builds the schema that a
program in another language would get.
"""

import json
import runpy

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pytest
from cell_harness import PUBLIC_KEY_PEM
from pulumi.provider.experimental.component import ComponentProvider

from offline import ProgramFailed, run_program
from offline.stack_config import ROOT

PROVIDER = runpy.run_path(str(ROOT / "provider" / "__main__.py"), run_name="provider")
SCHEMA = json.loads(
    ComponentProvider(
        PROVIDER["COMPONENTS"], PROVIDER["PACKAGE"], version=PROVIDER["VERSION"]
    ).schema
)
RESOURCES = SCHEMA["resources"]


def test_plugin_manifest_runs_python():
    text = (ROOT / "provider" / "PulumiPlugin.yaml").read_text()
    assert "  name: python\n" in text


def test_schema_names_the_package():
    assert SCHEMA["name"] == "cellarch"
    assert SCHEMA["version"] == "0.1.0"


def test_schema_has_the_four_components():
    assert sorted(RESOURCES) == [
        "cellarch:index:Cell",
        "cellarch:index:GovernancePlane",
        "cellarch:index:ObservabilityStack",
        "cellarch:index:Region",
    ]
    for token, resource in RESOURCES.items():
        assert resource["isComponent"] is True, token


def test_tokens_match_the_components_type_tokens():
    from components.cell import TYPE_TOKEN as CELL
    from components.governance import TYPE_TOKEN as GOVERNANCE
    from components.observability import TYPE_TOKEN as OBSERVABILITY
    from components.region import TYPE_TOKEN as REGION

    assert sorted(RESOURCES) == sorted([CELL, GOVERNANCE, OBSERVABILITY, REGION])


def test_region_inputs():
    region = RESOURCES["cellarch:index:Region"]
    assert sorted(region["requiredInputs"]) == [
        "bundle",
        "cloud",
        "region",
        "services",
        "supernet",
        "telemetryEndpoint",
    ]
    inputs = region["inputProperties"]
    assert {"cellCount", "cells", "cellSizeCap", "rollout", "queue", "router"} <= set(inputs)
    assert inputs["cells"]["type"] == "array"
    assert inputs["cells"]["items"]["$ref"] == "#/types/cellarch:index:RegionCellArgs"
    assert sorted(region["properties"]) == [
        "canary",
        "cellCidrs",
        "cellIngress",
        "cellNames",
        "controlPlaneCluster",
        "deadLetterQueueId",
        "queueId",
        "rolloutWaves",
        "routerAddress",
        "telemetryCaCertificate",
        "telemetryGatewayCertificate",
        "telemetryGatewayPrivateKey",
    ]


def test_cell_inputs():
    cell = RESOURCES["cellarch:index:Cell"]
    assert {"cloud", "region", "zones", "addresses", "services", "bundle"} <= set(
        cell["requiredInputs"]
    )
    assert "natGatewayCount" in cell["inputProperties"]
    assert "natGatewayCount" not in cell["requiredInputs"]


def test_governance_plane_inputs():
    plane = RESOURCES["cellarch:index:GovernancePlane"]
    assert sorted(plane["requiredInputs"]) == ["cloud", "region", "tokenIssuers"]
    assert {"bundleName", "signingKeyId", "noncurrentVersionDays"} <= set(plane["inputProperties"])
    assert "signingPrivateKeyPem" in plane["properties"]


def test_observability_stack_inputs():
    stack = RESOURCES["cellarch:index:ObservabilityStack"]
    assert sorted(stack["requiredInputs"]) == ["cloud", "region"]
    assert {"prometheus", "gatewayMemoryLimitMib", "gatewayQueueSize"} <= set(
        stack["inputProperties"]
    )
    assert sorted(stack["properties"]) == [
        "dashboards",
        "gatewayAddress",
        "gatewayPort",
        "prometheusQueryUrl",
    ]


def test_argument_types_are_documented():
    types = SCHEMA["types"]
    assert {
        "cellarch:index:RegionCellArgs",
        "cellarch:index:RolloutArgs",
        "cellarch:index:QueueArgs",
        "cellarch:index:TokenIssuerArgs",
        "cellarch:index:ServiceSpec",
    } <= set(types)
    users = types["cellarch:index:RegionCellArgs"]["properties"]["users"]
    assert users["description"].startswith("Users the cell is sized for")


def test_provider_constructs_a_region_from_schema_inputs():
    """Construct a Region as a program in another language would, through the provider."""

    def program() -> None:
        provider = ComponentProvider(PROVIDER["COMPONENTS"], "cellarch")
        aws_provider = aws.Provider("aws-eu", region="eu-west-1")
        inputs = {
            "cloud": "aws",
            "region": "eu-west-1",
            "supernet": "10.64.0.0/12",
            "telemetryEndpoint": "otel.example.com:4317",
            "environment": "dev",
            "cells": [{"name": "alpha", "users": 4000.0}, {"name": "beta"}],
            "rollout": {"canary": "beta"},
            "services": [
                {"name": "orders", "image": "example/orders:1.4.2", "port": 3000.0, "public": True},
            ],
            "bundle": {
                "name": "authz",
                "repository": "s3",
                "bucket": "bundles-example",
                "publicKeyPem": PUBLIC_KEY_PEM,
                "keyId": "authz-es256",
                "awsRegion": "eu-west-1",
            },
        }
        result = provider.construct(
            "region",
            "cellarch:index:Region",
            inputs,
            pulumi.ResourceOptions(providers=[aws_provider, random.Provider("random")]),
        )
        pulumi.export("waves", result.state["rolloutWaves"])

    recording = run_program(program, stack="package-test", preview=True)
    assert recording.stack_outputs()["waves"] == [["beta"], ["alpha"]]
    cells = sorted(r.name for r in recording.of_type("cellarch:index:Cell"))
    assert cells == ["alpha", "beta"]
    (region,) = recording.of_type("cellarch:index:Region")
    assert region.component_outputs["cell_cidrs"] == {
        "alpha": "10.64.0.0/16",
        "beta": "10.65.0.0/16",
    }
    # Unset properties took their defaults: three zones, one NAT gateway per dev cell.
    subnets = recording.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 3 * 9
    gateways = recording.of_type("aws:ec2/natGateway:NatGateway")
    assert len(gateways) == 3


def test_provider_rejects_an_invalid_issuer():
    def program() -> None:
        provider = ComponentProvider(PROVIDER["COMPONENTS"], "cellarch")
        provider.construct(
            "governance",
            "cellarch:index:GovernancePlane",
            {
                "cloud": "aws",
                "region": "eu-west-1",
                "tokenIssuers": [{"issuer": "i", "audience": "a", "publicKeyPem": "x"}],
            },
            pulumi.ResourceOptions(provider=aws.Provider("aws-eu", region="eu-west-1")),
        )

    with pytest.raises(ProgramFailed) as raised:
        run_program(program, stack="package-test", preview=True)
    assert str(raised.value).endswith(
        "token_issuers[0].public_key_pem: invalid value 'x'; "
        "expected a PEM starting -----BEGIN PUBLIC KEY-----"
    )
