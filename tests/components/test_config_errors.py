"""Invalid stack config: one line naming the key, the value and what is accepted, nothing created.

Each case changes one key of the shipped `aws-us-east-1` stack. The table runs through the
config model, through the reference program on the mock engine, and through the preview
command. Two cases also run `scripts/preview` as a user would.
"""

import copy
import json
import os
import runpy
import subprocess
from pathlib import Path

import pytest
import yaml

from components.config import PREFIX, decode_config_value, parse_region_config
from components.errors import ConfigError
from components.kubernetes.args import ServiceSpec
from offline import ProgramFailed, run_program
from offline.preview import EXIT_INVALID_CONFIG, main
from offline.recorder import STACK_TYPE
from offline.stack_config import PROGRAM, ROOT, STACKS_DIRECTORY, encode_config_value

BASE_STACK = "aws-us-east-1"
BASE = yaml.safe_load((STACKS_DIRECTORY / f"Pulumi.{BASE_STACK}.yaml").read_text())["config"]


def _cells(*cells):
    return list(cells)


# (case id, changes to the config, the key the error must name, the value it must show,
#  a phrase of what is accepted)
CASES = [
    (
        "overlapping-ranges",
        {
            "cellarch:cells": _cells(
                {"name": "a", "cidr": "10.16.0.0/16"}, {"name": "b", "cidr": "10.16.0.0/17"}
            )
        },
        "cellarch:cells[1].cidr",
        "'10.16.0.0/17'",
        "a range disjoint from every other cell",
    ),
    (
        "range-too-small-for-subnets",
        {"cellarch:cells": _cells({"name": "a", "cidr": "10.16.0.0/20"})},
        "cellarch:cells[0].cidr",
        "'10.16.0.0/20'",
        "a range of /16 or larger, or smaller subnets",
    ),
    ("zero-cells", {"cellarch:cells": 0}, "cellarch:cells", "0", "a cell count from 1 to 128"),
    (
        "cell-over-size-cap",
        {"cellarch:cells": _cells({"name": "big", "size": 50000})},
        "cellarch:cells[0].size",
        "50000",
        "at most the cell size cap 20000",
    ),
    ("unknown-cloud", {"cellarch:cloud": "azure"}, "cellarch:cloud", "'azure'", "one of aws, gcp"),
    (
        "unknown-region",
        {"cellarch:region": "mars-north-1"},
        "cellarch:region",
        "'mars-north-1'",
        "a region of aws",
    ),
    (
        "more-zones-than-region",
        {"cellarch:region": "eu-west-1", "cellarch:zoneCount": 4},
        "cellarch:zoneCount",
        "4",
        "at most 3, the zones of eu-west-1",
    ),
    (
        "duplicate-cell-names",
        {"cellarch:cells": _cells({"name": "a"}, {"name": "a"})},
        "cellarch:cells[1].name",
        "'a'",
        "a name no other cell has",
    ),
    (
        "public-supernet",
        {"cellarch:network": {"supernet": "11.0.0.0/12"}},
        "cellarch:network.supernet",
        "'11.0.0.0/12'",
        "a range inside 10.0.0.0/8",
    ),
    (
        "supernet-too-small-for-cells",
        {"cellarch:network": {"supernet": "10.16.0.0/15"}},
        "cellarch:network.supernet",
        "'10.16.0.0/15'",
        "a range of /13 or larger",
    ),
    (
        "range-outside-supernet",
        {"cellarch:cells": _cells({"name": "a", "cidr": "10.200.0.0/16"})},
        "cellarch:cells[0].cidr",
        "'10.200.0.0/16'",
        "a range inside the supernet 10.16.0.0/12",
    ),
    ("misspelt-key", {"cellarch:colud": "aws"}, "cellarch:colud", "'aws'", "one of accountId"),
    (
        "canary-not-a-cell",
        {"cellarch:rollout": {"canary": "cell-9"}},
        "cellarch:rollout.canary",
        "'cell-9'",
        "the name of a cell: cell-1, cell-2, cell-3, cell-4",
    ),
    (
        "environment",
        {"cellarch:environment": "prod"},
        "cellarch:environment",
        "'prod'",
        "one of production, staging, dev",
    ),
    (
        "gcp-without-project",
        {"cellarch:cloud": "gcp", "cellarch:region": "europe-west1"},
        "cellarch:project",
        "None",
        "a value; the key is required",
    ),
    (
        "kubernetes-version",
        {"cellarch:kubernetesVersion": "2.0"},
        "cellarch:kubernetesVersion",
        "'2.0'",
        "a minor version such as '1.33'",
    ),
    (
        "no-token-issuers",
        {"cellarch:tokenIssuers": []},
        "cellarch:tokenIssuers",
        "[]",
        "a list of issuers with issuer, audience and publicKeyPem",
    ),
    (
        "jurisdiction-of-another-region",
        {"cellarch:region": "eu-west-1", "cellarch:jurisdiction": "us"},
        "cellarch:jurisdiction",
        "'us'",
        "'eu', the jurisdiction of aws region eu-west-1; no other value is allowed",
    ),
    (
        "unknown-jurisdiction",
        {"cellarch:jurisdiction": "mars"},
        "cellarch:jurisdiction",
        "'mars'",
        "'us', the jurisdiction of aws region us-east-1; no other value is allowed",
    ),
    (
        "service-port-of-a-sidecar",
        {
            "cellarch:services": [
                {"name": "orders", "image": "example/orders:1", "port": 8080, "public": True}
            ]
        },
        "cellarch:services[0].port",
        "8080",
        "a port the sidecars do not use",
    ),
]


def _service(**changes):
    return {
        "name": "orders",
        "image": "ghcr.io/example/orders:1.4.2",
        "port": 3000,
        "public": True,
        **changes,
    }


LEDGER = {"name": "ledger", "image": "ghcr.io/example/ledger:2.0.1", "port": 3000}
CASES += [
    (
        "call-to-unknown-service",
        {"cellarch:services": [_service(calls=["ledger", "payments"]), LEDGER]},
        "cellarch:services[0].calls[1]",
        "'payments'",
        "the name of another service: ledger",
    ),
    (
        "call-to-itself",
        {"cellarch:services": [_service(calls=["orders"]), LEDGER]},
        "cellarch:services[0].calls[0]",
        "'orders'",
        "the name of another service: ledger",
    ),
    (
        "min-replicas-above-max",
        {"cellarch:services": [_service(minReplicas=5, maxReplicas=2)]},
        "cellarch:services[0].maxReplicas",
        "2",
        "an integer from 5 to 1000, at least cellarch:services[0].minReplicas",
    ),
    (
        "one-replica-in-production",
        {"cellarch:services": [_service(minReplicas=1)]},
        "cellarch:services[0].minReplicas",
        "1",
        "an integer from 2 to 1000; production keeps at least 2 replicas",
    ),
    (
        "no-public-service",
        {"cellarch:services": [_service(public=False)]},
        "cellarch:services",
        "['orders'] (none is public)",
        "exactly one service with public: true",
    ),
    (
        "two-public-services",
        {"cellarch:services": [_service(), {**LEDGER, "public": True}]},
        "cellarch:services[1].public",
        "True (services[0] is public too)",
        "exactly one service with public: true",
    ),
    (
        "public-not-a-boolean",
        {"cellarch:services": [_service(public="yes")]},
        "cellarch:services[0].public",
        "'yes'",
        "true or false",
    ),
]
CASES += [
    (
        "gateway-endpoint-port-out-of-range",
        {"cellarch:observability": {"gatewayEndpoint": "otel.example.com:70000"}},
        "cellarch:observability.gatewayEndpoint",
        "'otel.example.com:70000'",
        "HOST:PORT with a DNS name or IPv4 address and a port from 1 to 65535",
    ),
]
CASES += [
    (
        "many-cells-in-small-supernet",
        {"cellarch:cells": 64, "cellarch:network": {"supernet": "10.16.0.0/20"}},
        "cellarch:network.supernet",
        "'10.16.0.0/20' (64 cells and the control plane need 65 blocks of /16, each containing",
        "a range of /9 or larger, or smaller cellarch:network.subnetPrefixLengths",
    ),
    (
        "many-cells-in-small-supernet-with-cell-prefix",
        {
            "cellarch:cells": 64,
            "cellarch:network": {"supernet": "10.16.0.0/20", "cellPrefixLength": 21},
        },
        "cellarch:network.supernet",
        "'10.16.0.0/20' (64 cells and the control plane need 65 blocks of /16, each containing",
        "a range of /9 or larger",
    ),
    (
        "cell-prefix-too-long-for-subnets",
        {"cellarch:network": {"supernet": "10.16.0.0/12", "cellPrefixLength": 21}},
        "cellarch:network.cellPrefixLength",
        "21",
        "an integer from 13 to 16, so each cell's range holds the subnets of 3 zones",
    ),
    (
        "cell-prefix-not-longer-than-supernet",
        {"cellarch:network": {"supernet": "10.16.0.0/12", "cellPrefixLength": 12}},
        "cellarch:network.cellPrefixLength",
        "12",
        "an integer from 13 to 16, longer than the supernet's /12",
    ),
    (
        "subnets-too-large-for-default-cell-prefix",
        {"cellarch:network": {"supernet": "10.16.0.0/12", "subnetPrefixLengths": {"private": 17}}},
        "cellarch:network.subnetPrefixLengths",
        "{'private': 17}",
        "subnets of 3 zones that fit a /16 cell range",
    ),
    (
        "supernet-too-small-for-default-cell-prefix",
        {
            "cellarch:network": {
                "supernet": "10.16.0.0/16",
                "subnetPrefixLengths": {
                    "public": 26,
                    "private": 24,
                    "isolated": 27,
                    "pods": 24,
                    "services": 26,
                },
            }
        },
        "cellarch:network.supernet",
        "'10.16.0.0/16' (4 cells and the control plane need 5 blocks of /16",
        "a range of /13 or larger, or a cellarch:network.cellPrefixLength up to 21",
    ),
]
CASE_PARAMS = [pytest.param(*case[1:], id=case[0]) for case in CASES]


def _config(changes: dict) -> dict:
    config = copy.deepcopy(BASE)
    config.update(changes)
    return config


def _check_line(line: str, key: str, value: str, accepted: str) -> None:
    assert "\n" not in line
    assert line.startswith(f"{key}: invalid value {value}"), line
    assert f"expected {accepted}" in line, line


def test_table_has_at_least_twelve_kinds():
    assert len({case[0] for case in CASES}) == len(CASES) >= 12


@pytest.mark.parametrize(("changes", "key", "value", "accepted"), CASE_PARAMS)
def test_config_model_rejects(changes, key, value, accepted):
    values = {
        name.removeprefix(PREFIX): decode_config_value(encode_config_value(name, item))
        for name, item in _config(changes).items()
    }
    with pytest.raises(ConfigError) as raised:
        parsed = parse_region_config(values, BASE_STACK)
        # The service ports are checked by ServiceSpec, as the program does.
        for index, service in enumerate(parsed.services):
            ServiceSpec(name=service.name, image=service.image, port=service.port).validate(
                f"{PREFIX}services[{index}]"
            )
    _check_line(str(raised.value), key, value, accepted)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "us"),
        ({"cellarch:jurisdiction": "us"}, "us"),
        ({"cellarch:region": "eu-west-1", "cellarch:jurisdiction": "eu"}, "eu"),
    ],
)
def test_config_model_accepts_region_jurisdiction(changes, expected):
    values = {
        name.removeprefix(PREFIX): decode_config_value(encode_config_value(name, item))
        for name, item in _config(changes).items()
    }
    assert parse_region_config(values, BASE_STACK).jurisdiction == expected


@pytest.mark.parametrize(("changes", "key", "value", "accepted"), CASE_PARAMS)
def test_program_creates_nothing_on_bad_config(changes, key, value, accepted):
    config = {name: encode_config_value(name, item) for name, item in _config(changes).items()}
    with pytest.raises(ProgramFailed) as raised:
        run_program(
            lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
            stack=BASE_STACK,
            config=config,
            preview=True,
        )
    _check_line(str(raised.value), key, value, accepted)
    assert [r.type for r in raised.value.recording.resources] == [STACK_TYPE]


@pytest.mark.parametrize(("changes", "key", "value", "accepted"), CASE_PARAMS)
def test_preview_prints_one_line(changes, key, value, accepted, tmp_path, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": _config(changes)}))
    out = tmp_path / "out"

    status = main(["bad", "--stacks-dir", str(stacks), "--out", str(out), "--skip-policies"])

    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    _check_line(lines[0].removeprefix("preview: error: "), key, value, accepted)
    assert not out.exists()


def test_preview_rejects_an_unknown_stack(capsys):
    status = main(["aws-mars-1", "--skip-policies"])
    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    assert captured.err.splitlines() == [
        f"preview: error: stack: invalid value 'aws-mars-1'; expected a stack with a file in "
        f"{STACKS_DIRECTORY}: aws-eu-west-1, aws-us-east-1, gcp-europe-west1"
    ]


def test_preview_rejects_a_missing_stacks_directory(tmp_path, capsys):
    missing = tmp_path / "nonexist"
    status = main([BASE_STACK, "--stacks-dir", str(missing), "--skip-policies"])
    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    assert captured.err.splitlines() == [
        f"preview: error: --stacks-dir: invalid value '{missing}' (does not exist); "
        "expected a directory with a Pulumi.<stack>.yaml file per stack"
    ]


def test_preview_rejects_stacks_dir_file(tmp_path, capsys):
    not_a_directory = tmp_path / "stacks"
    not_a_directory.write_text("")
    status = main([BASE_STACK, "--stacks-dir", str(not_a_directory), "--skip-policies"])
    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    assert captured.err.splitlines() == [
        f"preview: error: --stacks-dir: invalid value '{not_a_directory}' (not a directory); "
        "expected a directory with a Pulumi.<stack>.yaml file per stack"
    ]


def test_preview_rejects_an_encrypted_value(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = {**BASE, "cellarch:accountId": {"secure": "v1:abc"}}
    (stacks / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": config}))
    status = main(["bad", "--stacks-dir", str(stacks), "--skip-policies"])
    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    assert captured.err.splitlines() == [
        "preview: error: cellarch:accountId: invalid value '(secure value)'; "
        "expected a plain value; the offline preview cannot decrypt"
    ]


@pytest.mark.parametrize(
    ("case_id", "expected"),
    [
        (
            "zero-cells",
            "cellarch:cells: invalid value 0; expected a cell count from 1 to 128, "
            "or a list of cells with a name and a size",
        ),
        ("unknown-cloud", "cellarch:cloud: invalid value 'azure'; expected one of aws, gcp"),
    ],
)
def test_scripts_preview_exits_with_one_line(case_id, expected, tmp_path):
    (changes,) = [case[1] for case in CASES if case[0] == case_id]
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.bad.yaml").write_text(json.dumps({"config": _config(changes)}))
    completed = subprocess.run(
        [str(ROOT / "scripts" / "preview"), "bad", "--stacks-dir", str(stacks)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=Path(tmp_path),
    )
    assert completed.returncode == EXIT_INVALID_CONFIG, completed.stderr
    assert completed.stderr.splitlines() == [f"preview: error: {expected}"]
    assert "Traceback" not in completed.stdout


def test_preview_rejects_an_output_path_that_is_a_file(tmp_path, capsys):
    out = tmp_path / "inventory"
    out.write_text("not a directory")
    status = main([BASE_STACK, "--out", str(out), "--skip-policies"])
    captured = capsys.readouterr()
    assert status == EXIT_INVALID_CONFIG
    assert captured.err.splitlines() == [
        f"preview: error: --out: invalid value '{out}' (not a directory); expected a directory"
    ]
    assert out.read_text() == "not a directory"
