"""Every shipped stack passes every rule of the pack, in preview and with all values known.

A preview leaves IDs and computed values unknown, so many workload rules cannot evaluate
there. The update recording has the values the mocks compute, so it checks those rules too.
"""

import pytest
from crossguard_shipped import SHIPPED_STACKS

from policies.crossguard.pack import RULES

MODES = {"update": False, "preview": True}


def test_stacks_of_both_clouds_are_shipped():
    assert {stack.split("-", 1)[0] for stack in SHIPPED_STACKS} == {"aws", "gcp"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stack_has_no_mandatory_violation(shipped, stack, mode):
    report = shipped(stack, MODES[mode])

    mandatory = [
        f"{d.policy}: {d.detail}" for d in report.violations if d.level.value == "mandatory"
    ]
    assert mandatory == []
    assert report.mandatory_count == 0


@pytest.mark.parametrize("rule", [rule.name for rule in RULES])
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_rule_passes_on_shipped_stack(shipped, stack, rule):
    report = shipped(stack, MODES["update"])

    if rule == "i05-persistence-survives-pod":
        # Advisory by design: the cells keep bundles on emptyDir volumes, one per pod.
        assert {d.level.value for d in report.of_policy(rule)} <= {"advisory"}
    else:
        assert report.details(rule) == []


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_update_evaluates_every_value(shipped, stack):
    report = shipped(stack, MODES["update"])

    assert [d.detail for d in report.not_evaluated] == []


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_preview_reports_unknowns_as_advisory(shipped, stack):
    report = shipped(stack, MODES["preview"])

    assert report.not_evaluated
    assert {d.level.value for d in report.not_evaluated} == {"advisory"}
    assert all(d.detail.startswith("could not evaluate yet") for d in report.not_evaluated)


def test_run_reads_the_shipped_stack_config():
    from policies.crossguard.offline import shipped_stack_config

    assert shipped_stack_config("gcp-europe-west1")["cellarch:environment"] == "staging"
    assert shipped_stack_config("no-such-stack") == {}
