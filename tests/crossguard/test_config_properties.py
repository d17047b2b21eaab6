"""The pack's policy properties: each bad value is rejected with one line, never ignored."""

import json

import pytest

from components.config import ENVIRONMENTS as PROGRAM_ENVIRONMENTS
from policies.crossguard import offline
from policies.crossguard.pack import RULES_BY_NAME
from policies.crossguard.policy_config import PolicyConfigError, resolve
from policies.crossguard.stack_settings import ENVIRONMENTS

CIDR_FORM = "accepted: an IPv4 or IPv6 address with a prefix length, e.g. 10.2.0.0/16"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"x/cell-1": ["10.999.0.0/16"]}}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: '10.999.0.0/16' "
            f"is not a CIDR range; {CIDR_FORM}",
        ),
        (
            {
                "i06-cell-ranges-disjoint": {
                    "otherCellRanges": {"x/cell-1": ["10.1.0.0/16", "10.2.0.0/33"]}
                }
            },
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: '10.2.0.0/33' "
            f"is not a CIDR range; {CIDR_FORM}",
        ),
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"x/cell-1": ["10.1.0.0"]}}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: '10.1.0.0' "
            f"is not a CIDR range; {CIDR_FORM}",
        ),
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"x/cell-1": "10.1.0.0/16"}}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: '10.1.0.0/16' "
            "is not an array",
        ),
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"x/cell-1": [10]}}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: 10 is not a string",
        ),
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"eu-west-1/": ["10.1.0.0/16"]}}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges: key 'eu-west-1/' names no "
            "cell; accepted: 'region/cell', e.g. 'eu-west-1/cell-1'",
        ),
        (
            {"i06-cell-ranges-disjoint": {"otherCellRanges": ["10.1.0.0/16"]}},
            "policy config i06-cell-ranges-disjoint.otherCellRanges: ['10.1.0.0/16'] is not an "
            "object",
        ),
        (
            {"i07-cell-size-capped": {"maxCellUsers": 0}},
            "policy config i07-cell-size-capped.maxCellUsers: 0 is below the minimum of 1",
        ),
        (
            {"i07-cell-size-capped": {"maxCellUsers": 2.5}},
            "policy config i07-cell-size-capped.maxCellUsers: 2.5 is not an integer",
        ),
        (
            {"i07-cell-size-capped": {"maxCellUsers": True}},
            "policy config i07-cell-size-capped.maxCellUsers: True is not an integer",
        ),
        (
            {"i07-rollout-in-waves": {"maxWaveSize": -1}},
            "policy config i07-rollout-in-waves.maxWaveSize: -1 is below the minimum of 1",
        ),
        (
            {"i07-rollout-in-waves": {"maxWaveSize": "3"}},
            "policy config i07-rollout-in-waves.maxWaveSize: '3' is not an integer",
        ),
        (
            {"i09-collector-bounded": {"maxQueueSize": 0}},
            "policy config i09-collector-bounded.maxQueueSize: 0 is below the minimum of 1",
        ),
        (
            {"i09-collector-bounded": {"maxQueueSize": None}},
            "policy config i09-collector-bounded.maxQueueSize: None is not an integer",
        ),
        (
            {"i10-database-resilient": {"minBackupRetentionDays": 0}},
            "policy config i10-database-resilient.minBackupRetentionDays: 0 is below the "
            "minimum of 1",
        ),
        (
            {"i10-database-resilient": {"minBackupRetentionDays": "7"}},
            "policy config i10-database-resilient.minBackupRetentionDays: '7' is not an integer",
        ),
        (
            {"i10-database-deletion-protected": {"environment": "prod"}},
            "policy config i10-database-deletion-protected.environment: 'prod' is invalid; "
            "accepted: production, staging, dev",
        ),
        (
            {"i10-database-deletion-protected": {"environment": ""}},
            "policy config i10-database-deletion-protected.environment: '' is invalid; "
            "accepted: production, staging, dev",
        ),
        (
            {"i10-database-deletion-protected": {"environment": 1}},
            "policy config i10-database-deletion-protected.environment: 1 is not a string",
        ),
    ],
)
def test_bad_property_is_rejected(config, message):
    with pytest.raises(PolicyConfigError) as raised:
        resolve(config)

    assert str(raised.value) == message


def test_good_properties_are_kept():
    settings = resolve(
        {
            "i06-cell-ranges-disjoint": {
                "otherCellRanges": {"eu-west-1/cell-1": ["10.8.0.0/16", "fd00:8::/64"]}
            },
            "i07-cell-size-capped": {"maxCellUsers": 50000.0},
            "i10-database-deletion-protected": {"environment": "staging"},
        }
    )

    assert settings["i06-cell-ranges-disjoint"].properties == {
        "otherCellRanges": {"eu-west-1/cell-1": ["10.8.0.0/16", "fd00:8::/64"]}
    }
    assert settings["i07-cell-size-capped"].properties == {"maxCellUsers": 50000}
    assert type(settings["i07-cell-size-capped"].properties["maxCellUsers"]) is int
    assert settings["i10-database-deletion-protected"].properties == {"environment": "staging"}


def test_property_table_covers_every_property():
    properties = {f"{name}.{key}" for name, rule in RULES_BY_NAME.items() for key in rule.config}

    assert properties == {
        "i06-cell-ranges-disjoint.otherCellRanges",
        "i07-cell-size-capped.maxCellUsers",
        "i07-rollout-in-waves.maxWaveSize",
        "i09-collector-bounded.maxQueueSize",
        "i10-database-resilient.minBackupRetentionDays",
        "i10-database-deletion-protected.environment",
    }


def test_environments_match_program_config():
    assert ENVIRONMENTS == PROGRAM_ENVIRONMENTS


def test_bad_cidr_in_config_file_exits_two(tmp_path, capsys, monkeypatch):
    recorded = []
    monkeypatch.setattr(offline, "record_stack", lambda *args, **kwargs: recorded.append(args))
    config = tmp_path / "policy-config.json"
    config.write_text(
        json.dumps(
            {"i06-cell-ranges-disjoint": {"otherCellRanges": {"x/cell-1": ["10.999.0.0/16"]}}}
        )
    )

    status = offline.main(["--stack", "aws-us-east-1", "--policy-pack-config", str(config)])

    output = capsys.readouterr()
    assert status == 2
    assert recorded == []
    assert output.out == ""
    assert output.err == (
        "crossguard: policy config i06-cell-ranges-disjoint.otherCellRanges.x/cell-1: "
        f"'10.999.0.0/16' is not a CIDR range; {CIDR_FORM}\n"
    )
