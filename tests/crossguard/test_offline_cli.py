"""`python -m policies.crossguard.offline`: exit status, printed report and bad input."""

import json

import pulumi
import pulumi_aws as aws
import pytest
from crossguard_harness import STACK, aws_provider, tags

from offline import run_program
from offline.mocks import CloudMocks
from policies.crossguard import offline
from policies.crossguard.policy_config import PolicyConfigError, resolve


def _public_database() -> None:
    aws.rds.Instance(
        "db",
        engine="postgres",
        instance_class="db.r6g.large",
        publicly_accessible=True,
        tags=tags("data", "cell-1"),
        opts=pulumi.ResourceOptions(provider=aws_provider()),
    )


@pytest.fixture
def recorded(monkeypatch):
    """Make the command record `_public_database` instead of a shipped stack."""
    config = {"cellarch:environment": "staging"}

    def record(stack, preview=True):
        recording = run_program(
            _public_database, stack=stack, config=config, preview=preview, mocks=CloudMocks(preview)
        )
        return recording, config

    monkeypatch.setattr(offline, "record_stack", record)


def test_mandatory_violation_exits_one(recorded, capsys):
    status = offline.main(["--stack", STACK])

    output = capsys.readouterr().out
    assert status == 1
    assert "\nI10 Protected data\n  aws:rds/instance:Instance db\n" in output
    assert (
        "    [mandatory] i10-database-private: database db: has a public address "
        "(publiclyAccessible is on)\n"
    ) in output


def test_advisory_level_from_config_exits_zero(recorded, tmp_path, capsys):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"all": "advisory", "i11-plane-region-labels": "disabled"}))

    status = offline.main(["--stack", STACK, "--policy-pack-config", str(config)])

    output = capsys.readouterr().out
    assert status == 0
    assert "    [advisory] i10-database-private: database db: has a public address" in output
    assert "i11-plane-region-labels" not in output


def test_unknown_stack_is_one_line(capsys):
    status = offline.main(["--stack", "no-such-stack"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1
    assert error.startswith("crossguard: stack: invalid value 'no-such-stack'")


def test_unreadable_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text("{not json")

    status = offline.main(["--stack", "aws-us-east-1", "--policy-pack-config", str(config)])

    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1
    assert error.startswith(f"crossguard: policy config {config} is not valid JSON")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"i99-nothing": "advisory"},
            "policy config names unknown policy 'i99-nothing'; accepted: all or one of ",
        ),
        (
            {"all": "sometimes"},
            "policy config all: enforcement level 'sometimes' is invalid; accepted: advisory, "
            "mandatory, disabled",
        ),
        (
            {"i07-cell-size-capped": {"maxUsers": 5}},
            "policy config i07-cell-size-capped: unknown property 'maxUsers'; accepted: "
            "enforcementLevel, maxCellUsers",
        ),
        (
            {"i07-cell-size-capped": {"maxCellUsers": 0}},
            "policy config i07-cell-size-capped.maxCellUsers: 0 is below the minimum of 1",
        ),
        (
            {"i07-cell-size-capped": {"maxCellUsers": "many"}},
            "policy config i07-cell-size-capped.maxCellUsers: 'many' is not an integer",
        ),
        (["i07-cell-size-capped"], "policy config must be a JSON object of policy names, not list"),
    ],
)
def test_bad_pack_config_is_rejected(config, message):
    with pytest.raises(PolicyConfigError) as raised:
        resolve(config)

    assert str(raised.value).startswith(message)


def test_level_precedence():
    settings = resolve(
        {"all": "advisory", "i10-database-private": {"enforcementLevel": "mandatory"}}
    )

    assert settings["i10-database-private"].level.value == "mandatory"
    assert settings["i10-bucket-protected"].level.value == "advisory"
    assert resolve(None)["i05-persistence-survives-pod"].level.value == "advisory"
