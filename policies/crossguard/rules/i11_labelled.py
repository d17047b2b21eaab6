"""I11 Labelled: every resource carries its plane, cell (where it has one) and region as
tags or labels, so that policies, costs and dashboards can group it."""

import re
from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import is_unknown
from ..view.graph import StackView
from ..view.model import PLANES, Record
from .base import MANDATORY, Rule

_INVALID_LABEL_CHARACTERS = re.compile(r"[^a-z0-9_-]")
# Reasons of a cell membership that make a cell label required: the resource is part of a
# Cell component, or is a Kubernetes object deployed to a cell's cluster.
_OWNING_REASONS = ("parent Cell", "deployed to")


def label_record(records: list[Record]) -> Record | None:
    """Return the record whose labels stand for the resource; None for a type with none."""
    for record in records:
        if record.labels.carrier is not None:
            return record
    return None


def check_labelled(records: list[Record], findings: Findings, _config: Mapping[str, Any]) -> None:
    record = label_record(records)
    if record is None:
        return
    title, carrier = record.ref.title, record.labels.carrier
    if is_unknown(record.labels.values):
        findings.unknown(title, carrier)
        return
    plane = record.labels.get("plane")
    if is_unknown(plane):
        findings.unknown(title, f"plane in {carrier}")
    elif plane is None:
        findings.violation(f"{title}: has no plane label in {carrier}")
    elif plane not in PLANES:
        findings.violation(
            f"{title}: plane label {plane!r} in {carrier} is none of {', '.join(PLANES)}"
        )
    region = record.labels.get("region")
    if is_unknown(region):
        findings.unknown(title, f"region in {carrier}")
    elif not region:
        findings.violation(f"{title}: has no region label in {carrier}")


def normalized(value: str) -> str:
    """Return a cell name as GCP spells label values, so every cloud's spelling compares."""
    return _INVALID_LABEL_CHARACTERS.sub("-", value.lower())[:63]


def check_cell_label(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for urn in _labelled_urns(view):
        record = label_record(view.records_of(urn))
        claims = [
            claim
            for claim in view.membership(urn).claims
            if claim.reason.startswith(_OWNING_REASONS)
        ]
        if not claims:
            continue
        title, carrier = record.ref.title, record.labels.carrier
        label = record.labels.get("cell")
        if is_unknown(label):
            findings.unknown(title, f"cell in {carrier}")
            continue
        for claim in claims:
            if label is None:
                findings.violation(
                    f"{title}: belongs to cell {claim.cell} ({claim.reason}) but has no cell "
                    f"label in {carrier}",
                    urn,
                )
            elif normalized(str(label)) != normalized(claim.cell):
                findings.violation(
                    f"{title}: cell label {label!r} in {carrier} names another cell than "
                    f"{claim.cell} ({claim.reason})",
                    urn,
                )


def _labelled_urns(view: StackView) -> list[str]:
    urns = (record.ref.urn for record in view.records(Record) if record.labels.carrier is not None)
    return list(dict.fromkeys(urns))


RULES = [
    Rule(
        name="i11-plane-region-labels",
        invariant="I11",
        description="Every resource that takes tags or labels carries its plane and region.",
        level=MANDATORY,
        checks={
            "aws": "tags (with the provider's default tags) of every taggable resource: "
            "plane is data, control, governance or observability; region is set",
            "gcp": "labels, or key=value words in the description of types with no labels "
            "(networks, subnetworks, routers, firewalls): as on AWS",
            "kubernetes": "metadata.labels cellarch.io/plane and cellarch.io/region: as on AWS",
        },
        resource_check=check_labelled,
    ),
    Rule(
        name="i11-cell-label",
        invariant="I11",
        description="Every resource of a cell carries that cell's name as its cell label.",
        level=MANDATORY,
        checks={
            "aws": "every taggable resource under a Cell component: tag cell names that cell",
            "gcp": "every labellable resource under a Cell component: label cell names that "
            "cell (in GCP's lower-case spelling)",
            "kubernetes": "objects under a Cell component or deployed to a cell's cluster: "
            "cellarch.io/cell names that cell",
        },
        stack_check=check_cell_label,
    ),
]
