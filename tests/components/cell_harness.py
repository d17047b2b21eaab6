"""Programs and arguments that the cell tests run on the offline mock engine.

`run_cell` runs one cell, optionally nested in two components that hold the provider, in
preview or update mode, and returns the recording with the URNs the tests look up.
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.addressing import SubnetPrefixLengths, carve_cell
from components.cell import Cell, CellAddressArgs, CellArgs
from components.kubernetes.args import BundleSource, CellWorkloadsArgs, ServiceSpec
from components.kubernetes.workloads import CellWorkloads
from offline import Recording, run_program
from offline.mocks import CloudMocks

CELL = "cell-1"
STACK = "test-stack"
AWS_REGION = "us-east-1"
AWS_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
GCP_REGION = "europe-west1"
GCP_ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
GCP_PROJECT = "cellarch-test-1"
CELL_CIDR = "10.1.0.0/16"
BUNDLE_BUCKET = "cellarch-bundles-test"
TELEMETRY = "otel-gateway.example.com:4317"

PUBLIC_KEY_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
ADDRESSES = carve_cell("cell", ipaddress.ip_network(CELL_CIDR), 3, SubnetPrefixLengths())


def services() -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="orders", image="example/orders:1.4.2", port=3000, public=True, calls=["ledger"]
        ),
        ServiceSpec(name="ledger", image="example/ledger:2.0.1", port=3000),
        ServiceSpec(name="audit", image="example/audit:0.9.0", port=3000, uses_database=False),
    ]


SERVICE_NAMES = ["orders", "ledger", "audit"]


def bundle(cloud: str) -> BundleSource:
    return BundleSource(
        name="authz",
        repository="s3" if cloud == "aws" else "gcs",
        bucket=BUNDLE_BUCKET,
        public_key_pem=PUBLIC_KEY_PEM,
        key_id="authz-es256",
        aws_region=AWS_REGION if cloud == "aws" else None,
    )


def cell_args(cloud: str, **overrides) -> CellArgs:
    args = CellArgs(
        cloud=cloud,
        region=AWS_REGION if cloud == "aws" else GCP_REGION,
        zones=list(AWS_ZONES if cloud == "aws" else GCP_ZONES),
        addresses=CellAddressArgs.from_plan(ADDRESSES),
        jurisdiction="us" if cloud == "aws" else "eu",
        services=services(),
        bundle=bundle(cloud),
        telemetry_endpoint=TELEMETRY,
        project=GCP_PROJECT if cloud == "gcp" else None,
        stack=STACK,
    )
    return replace(args, **overrides)


def workloads_args(**overrides) -> CellWorkloadsArgs:
    args = CellWorkloadsArgs(
        cell=CELL,
        region=AWS_REGION,
        jurisdiction="us",
        services=services(),
        bundle=bundle("aws"),
        telemetry_endpoint=TELEMETRY,
        stack=STACK,
    )
    return replace(args, **overrides)


@dataclass
class CellRun:
    recording: Recording
    cloud_provider_urn: str
    """`urn` of the provider the program gave for the cloud."""

    @property
    def cell(self):
        (cell,) = self.recording.of_type("cellarch:index:Cell")
        return cell

    def resources(self):
        """Return the cell and everything under it."""
        return [self.cell, *self.recording.descendants(self.cell.urn)]

    def of_type(self, type_: str):
        return [record for record in self.resources() if record.type == type_]


class _Holder(pulumi.ComponentResource):
    """A component with no resources of its own, standing in for a region around a cell."""

    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(type_, name, None, opts)
        self.register_outputs({})


def _cloud_provider(cloud: str) -> pulumi.ProviderResource:
    if cloud == "aws":
        return aws.Provider("aws-test", region=AWS_REGION, allowed_account_ids=["111122223333"])
    return gcp.Provider("gcp-test", project=GCP_PROJECT, region=GCP_REGION)


def run_cell(
    cloud: str,
    *,
    preview: bool,
    args: CellArgs | None = None,
    nested: bool = False,
) -> CellRun:
    """Run one cell; with `nested`, the provider sits on a component two levels above it."""

    def program() -> None:
        provider = _cloud_provider(cloud)
        if nested:
            outer = _Holder(
                "test:index:Outer", "outer", pulumi.ResourceOptions(providers=[provider])
            )
            middle = _Holder("test:index:Middle", "middle", pulumi.ResourceOptions(parent=outer))
            options = pulumi.ResourceOptions(parent=middle)
        else:
            options = pulumi.ResourceOptions(provider=provider)
        cell = Cell(CELL, args or cell_args(cloud), options)
        for output in ("kubeconfig", "database_password", "database_host"):
            pulumi.export(
                f"{output}_is_secret",
                pulumi.Output.from_input(getattr(cell, output).is_secret()),
            )

    recording = run_program(program, stack=STACK, preview=preview, mocks=CloudMocks(preview))
    (provider,) = [r for r in recording.resources if r.type == f"pulumi:providers:{cloud}"]
    return CellRun(recording=recording, cloud_provider_urn=provider.urn)


def run_workloads(
    *,
    preview: bool,
    make_args: Callable[[], CellWorkloadsArgs] = workloads_args,
) -> Recording:
    """Run CellWorkloads alone against a Kubernetes provider, as on any cluster.

    `make_args` runs inside the program, because an Output such as a secret belongs to the
    event loop of the program that creates it.
    """

    def program() -> None:
        provider = k8s.Provider("any-cluster", kubeconfig="{}")
        CellWorkloads(
            f"{CELL}-workloads",
            make_args(),
            pulumi.ResourceOptions(provider=provider),
        )

    return run_program(program, stack=STACK, preview=preview, mocks=CloudMocks(preview))
