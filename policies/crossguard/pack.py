"""The pack's name, its rules and the policy objects built from them.

Importing this module constructs nothing that blocks, so tests, docs and the offline runner
read the same policies and metadata that the entry point serves to the engine.
"""

from pulumi_policy import EnforcementLevel, Policy

from .rules import (
    i01_compute_isolation,
    i02_no_synchronous_call,
    i03_local_policy,
    i04_signed_policy,
    i05_last_known_good,
    i06_share_nothing,
    i07_bounded_blast_radius,
    i08_zero_trust,
    i09_asynchronous_telemetry,
    i10_protected_data,
    i11_labelled,
)
from .rules.base import MANDATORY, Rule

PACK_NAME = "cellarch-invariants"
PACK_DESCRIPTION = (
    "Invariants I1 to I11 of the four-plane cell architecture, checked alike on AWS, GCP "
    "and Kubernetes over one cloud-neutral view of the resources."
)
# A policy that names no level of its own is mandatory; the pack's config can lower any.
PACK_ENFORCEMENT_LEVEL: EnforcementLevel = MANDATORY

INVARIANTS = {
    "I1": "Compute isolation",
    "I2": "No synchronous cross-plane call",
    "I3": "Local, compiled policy",
    "I4": "Signed policy",
    "I5": "Last known good",
    "I6": "Share nothing",
    "I7": "Bounded blast radius",
    "I8": "Zero trust",
    "I9": "Asynchronous telemetry",
    "I10": "Protected data",
    "I11": "Labelled",
}

RULES: list[Rule] = [
    *i01_compute_isolation.RULES,
    *i02_no_synchronous_call.RULES,
    *i03_local_policy.RULES,
    *i04_signed_policy.RULES,
    *i05_last_known_good.RULES,
    *i06_share_nothing.RULES,
    *i07_bounded_blast_radius.RULES,
    *i08_zero_trust.RULES,
    *i09_asynchronous_telemetry.RULES,
    *i10_protected_data.RULES,
    *i11_labelled.RULES,
]
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def policies() -> list[Policy]:
    """Return a new SDK policy object for every rule, in the order of the invariants."""
    return [rule.policy() for rule in RULES]
