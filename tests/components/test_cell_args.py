"""Invalid cell arguments: one ConfigError naming the argument, and no resource created."""

from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pytest
from cell_harness import ADDRESSES, STACK, bundle, cell_args, services

from components.cell import Cell, CellAddressArgs, DatabaseArgs, NodePoolArgs
from components.errors import ConfigError
from components.kubernetes.args import ServiceSpec
from offline import ProgramFailed, run_program


def _service(**changes) -> list[ServiceSpec]:
    first, *rest = services()
    return [replace(first, **changes), *rest]


BAD_ARGS = [
    ("name", {"__name__": "Cell_1"}),
    ("cloud", {"cloud": "azure"}),
    ("environment", {"environment": "prod"}),
    ("zones", {"zones": ["us-east-1a", "us-east-1b"]}),
    ("zones", {"zones": ["us-east-1a", "us-east-1a", "us-east-1b"]}),
    ("zones[2]", {"zones": ["us-east-1a", "us-east-1b", "eu-west-1a"]}),
    (
        "addresses.cidr",
        {"addresses": replace(CellAddressArgs.from_plan(ADDRESSES), cidr="10.1.0.0/33")},
    ),
    (
        "addresses.private_subnets",
        {
            "addresses": replace(
                CellAddressArgs.from_plan(ADDRESSES),
                private_subnets=list(ADDRESSES.private_subnets[:2]),
            )
        },
    ),
    (
        "addresses.isolated_subnets[0]",
        {
            "addresses": replace(
                CellAddressArgs.from_plan(ADDRESSES),
                isolated_subnets=["10.9.0.0/24", *ADDRESSES.isolated_subnets[1:]],
            )
        },
    ),
    (
        "addresses.public_subnets[0]",
        {
            "addresses": replace(
                CellAddressArgs.from_plan(ADDRESSES),
                public_subnets=[
                    ADDRESSES.public_subnets[0],
                    ADDRESSES.public_subnets[0],
                    ADDRESSES.public_subnets[2],
                ],
            )
        },
    ),
    ("users", {"users": 20_001}),
    ("users", {"users": 0}),
    ("project", {"project": "some-project"}),
    ("kubernetes_version", {"kubernetes_version": "1.33.1"}),
    ("data_pool.max_size", {"data_pool": NodePoolArgs(min_size=5, max_size=4, desired_size=5)}),
    (
        "system_pool.desired_size",
        {"system_pool": NodePoolArgs(min_size=2, max_size=4, desired_size=9)},
    ),
    ("database.engine_version", {"database": DatabaseArgs(engine_version="9.6")}),
    ("database.backup_retention_days", {"database": DatabaseArgs(backup_retention_days=1)}),
    ("database.username", {"database": DatabaseArgs(username="Admin")}),
    ("nat_gateway_count", {"nat_gateway_count": 4}),
    ("nat_gateway_count", {"nat_gateway_count": 0}),
    ("api_allowed_cidrs[0]", {"api_allowed_cidrs": ["not-a-range"]}),
    ("ingress_allowed_cidrs", {"ingress_allowed_cidrs": []}),
    ("ingress_node_port", {"ingress_node_port": 443}),
    ("labels.cell", {"labels": {"cell": "other"}}),
    ("labels.team", {"labels": {"team": "Payments Team"}}),
    ("services", {"services": []}),
    ("services[0].image", {"services": _service(image="example/orders:latest")}),
    ("services[0].image", {"services": _service(image="example/orders")}),
    ("services[0].port", {"services": _service(port=8443)}),
    ("services[0].port", {"services": _service(port=15010)}),
    ("services[0].min_replicas", {"services": _service(min_replicas=1)}),
    ("services[0].max_replicas", {"services": _service(max_replicas=2)}),
    ("services[0].calls", {"services": _service(calls=["payments"])}),
    ("services[0].cpu", {"services": _service(cpu="a lot")}),
    ("services[3].name", {"services": [*services(), services()[0]]}),
    ("services.public", {"services": _service(public=False)}),
    ("bundle.repository", {"bundle": replace(bundle("aws"), repository="http")}),
    ("bundle.aws_region", {"bundle": replace(bundle("aws"), aws_region=None)}),
    (
        "bundle.public_key_pem",
        {"bundle": replace(bundle("aws"), public_key_pem="ssh-ed25519 AAAA")},
    ),
    ("bundle.polling_max_seconds", {"bundle": replace(bundle("aws"), polling_max_seconds=5)}),
    ("telemetry_endpoint", {"telemetry_endpoint": "http://otel:4317"}),
    ("trust_domain", {"trust_domain": "Example Domain"}),
]


def _run_rejected(name: str, args) -> ProgramFailed:
    def program() -> None:
        provider = aws.Provider("aws-test", region="us-east-1")
        Cell(name, args, pulumi.ResourceOptions(provider=provider))

    with pytest.raises(ProgramFailed) as failure:
        run_program(program, stack=STACK, preview=True)
    return failure.value


@pytest.mark.parametrize(
    ("key", "changes"), BAD_ARGS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BAD_ARGS)]
)
def test_invalid_argument_is_rejected_before_any_resource(key, changes):
    changes = dict(changes)
    name = changes.pop("__name__", "cell-1")
    failure = _run_rejected(name, replace(cell_args("aws"), **changes))
    error = failure.error
    assert isinstance(error, ConfigError), repr(error)
    assert error.key == key
    assert "\n" not in str(error)
    assert str(error).startswith(f"{key}: invalid value ")
    types = [record.type for record in failure.recording.resources]
    assert types == ["pulumi:pulumi:Stack", "pulumi:providers:aws"]


def test_gcp_cell_needs_a_project():
    failure = _run_rejected("cell-1", cell_args("gcp", project=None))
    assert failure.error.key == "project"


def test_cell_without_a_provider_is_rejected():
    def program() -> None:
        Cell("cell-1", cell_args("aws"))

    with pytest.raises(ProgramFailed) as failure:
        run_program(program, stack=STACK, preview=True)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == "opts.provider"
    assert [r.type for r in failure.value.recording.resources] == ["pulumi:pulumi:Stack"]


def test_cell_with_another_clouds_provider_is_rejected():
    def program() -> None:
        provider = aws.Provider("aws-test", region="us-east-1")
        Cell("cell-1", cell_args("gcp"), pulumi.ResourceOptions(provider=provider))

    with pytest.raises(ProgramFailed) as failure:
        run_program(program, stack=STACK, preview=True)
    assert failure.value.error.key == "opts.provider"
    assert "gcp provider" in str(failure.value.error)


def test_users_over_the_cap_name_the_cap():
    failure = _run_rejected("cell-1", cell_args("aws", users=25_000))
    assert str(failure.error) == (
        "users: invalid value 25000; expected at most the cell size cap of 20000 users; "
        "add a cell instead"
    )


def test_arguments_of_the_wrong_class_are_rejected():
    failure = _run_rejected("cell-1", "cloud=aws")
    assert str(failure.error) == (
        "args: invalid value 'str'; expected a CellArgs or a mapping of its fields"
    )


def test_mapping_without_a_required_field_is_rejected():
    # The package's provider passes the arguments of other languages as a mapping.
    failure = _run_rejected("cell-1", {"cloud": "aws"})
    assert str(failure.error) == (
        "args.region: invalid value None (missing); expected a value; the field is required"
    )
