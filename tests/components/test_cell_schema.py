"""Pulumi's component analyzer reads the cell's argument classes and outputs.

The analyzer is what `pulumi package` uses to publish a Python component to other
languages, so a field it cannot read would break a published schema.
"""

from pulumi.provider.experimental.analyzer import Analyzer

from components.cell import Cell
from components.kubernetes.workloads import CellWorkloads


def _analyze():
    return Analyzer("cellarch").analyze([Cell, CellWorkloads])


def test_analyzer_reads_cell_inputs_and_outputs():
    cell = _analyze()["component_definitions"]["Cell"]
    assert {"cloud", "region", "zones", "addresses", "services", "bundle"} <= set(cell.inputs)
    assert cell.inputs["natGatewayCount"].optional is True
    assert cell.inputs["cloud"].optional is False
    assert sorted(cell.outputs) == [
        "clusterName",
        "databaseHost",
        "databasePassword",
        "databasePort",
        "ingressAddress",
        "keyId",
        "kubeconfig",
        "namespace",
        "networkId",
        "users",
    ]


def test_analyzer_reads_workloads_inputs():
    workloads = _analyze()["component_definitions"]["CellWorkloads"]
    assert {"cell", "services", "bundle", "telemetryEndpoint"} <= set(workloads.inputs)
    assert sorted(workloads.outputs) == ["ingressService", "namespace", "serviceNames"]


def test_analyzer_documents_argument_types():
    types = _analyze()["type_definitions"]
    assert sorted(types) == [
        "BundleSource",
        "CellAddressArgs",
        "DatabaseArgs",
        "DatabaseConnection",
        "IngressExposure",
        "NodePoolArgs",
        "ServiceSpec",
        "TelemetryTLSArgs",
    ]
    assert types["ServiceSpec"].properties["minReplicas"].description.startswith("Lower bound")
