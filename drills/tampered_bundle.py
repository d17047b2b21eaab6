"""Drill 4: a tampered, unsigned or foreign-signed bundle appears in the repository.

Each variant grants what the active bundle denies: it lifts the revocation of
legacy-batch and lets orders-web read invoices. Every agent must reject it because its
signature does not verify, keep serving the previous revision, and report the failure
in its bundle status. A good revision is published after each variant, so that the
next one starts from an agent without errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drills import agent_status, bundle_tampering, decisions, harness, progress
from drills.errors import DrillError
from drills.result import DrillResult, Table
from localregion.governance import ISSUER_KEY
from wasm.build import build_bundle
from wasm.data import Issuer
from wasm.keys import generate_key_pair, key_pair_paths
from wasm.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER

NAME = "tampered-bundle"
TITLE = "4. Tampered or unsigned bundle"

REJECTION_TIMEOUT_SECONDS = 30
TAMPERED_REVISION = "tampered"


def grant_forbidden(document: dict) -> None:
    """Edit data.json to allow what the region's data denies."""
    authz = document["authz"]
    authz["revoked"] = [caller for caller in authz["revoked"] if caller != "legacy-batch"]
    authz["routes"]["orders-web"].append({"methods": ["GET"], "path_prefix": "/v1/invoices"})


@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[], bytes]


def _foreign_signed(region, work_dir: Path) -> bytes:
    """Build a bundle with the granting data, signed by a key no agent trusts."""
    foreign = generate_key_pair(work_dir / "keys", "foreign-signing", exist_ok=True)
    document = {"authz": region.data}
    grant_forbidden(document)
    document["authz"].pop("issuers", None)
    data_file = work_dir / "data.json"
    data_file.write_text(json.dumps(document))
    issuer_key = key_pair_paths(region.governance.key_dir, ISSUER_KEY).public_key
    built = build_bundle(
        region.bundle_name,
        signing_key=foreign.private_key,
        issuers=[Issuer(DEFAULT_ISSUER, DEFAULT_AUDIENCE, (issuer_key,))],
        data_file=data_file,
        out_dir=work_dir / "out",
        revision=TAMPERED_REVISION,
        key_id=region.governance.signing_key_id,
    )
    return built.bundle.read_bytes()


def _upload_current(region, body: bytes) -> None:
    region.repository.client().put_object(
        Bucket=region.repository.bucket,
        Key=f"bundles/{region.bundle_name}/current/bundle.tar.gz",
        Body=body,
    )


def run(result: DrillResult, run_dir: Path, quick: bool) -> None:
    with harness.running_region(NAME, run_dir) as region:
        token = harness.token_minter(region)
        probes = decisions.decision_probes(["probe"], token)
        sidecars = {cell.name: cell.ports.sidecar for cell in region.cells}
        good = region.governance.bundle_path(region.revision).read_bytes()
        variants = [
            Variant(
                "data changed, signature kept",
                lambda: bundle_tampering.rewrite_bundle(
                    good, grant_forbidden, revision=TAMPERED_REVISION
                ),
            ),
            Variant(
                "data changed, signature removed",
                lambda: bundle_tampering.rewrite_bundle(
                    good, grant_forbidden, revision=TAMPERED_REVISION, keep_signatures=False
                ),
            ),
            Variant(
                "data changed, signed by an unknown key",
                lambda: _foreign_signed(region, run_dir / "foreign"),
            ),
        ]

        table = Table(
            "Agents after each bad bundle",
            ["variant", "cell", "active revision", "bundle status"],
        )
        rejected_everywhere, unchanged, statuses_seen = [], [], []
        for variant in variants:
            active = region.revision
            baseline = decisions.take_cell_decisions(sidecars, probes)
            body = variant.build()
            progress.step(NAME, f"publishing a bad bundle: {variant.name}")
            _upload_current(region, body)
            try:
                harness.wait_for(
                    lambda: all(
                        getattr(
                            agent_status.bundle_status(cell.agent_url, region.bundle_name),
                            "failing",
                            False,
                        )
                        for cell in region.cells
                    ),
                    "every agent to report the bad bundle in its status",
                    timeout=REJECTION_TIMEOUT_SECONDS,
                )
                statuses_seen.append(variant.name)
            except DrillError:
                pass
            revisions = {cell.name: region.active_revision(cell.name) for cell in region.cells}
            after = decisions.take_cell_decisions(sidecars, probes)
            for cell in region.cells:
                status = agent_status.bundle_status(cell.agent_url, region.bundle_name)
                table.rows.append(
                    [
                        variant.name,
                        cell.name,
                        revisions[cell.name],
                        status.describe() if status else "no status",
                    ]
                )
            if all(revision == active for revision in revisions.values()):
                rejected_everywhere.append(variant.name)
            changes = decisions.changed_decisions(baseline, after)
            if not changes:
                unchanged.append(variant.name)
            else:
                result.notes.append(f"{variant.name}: changed decisions: {'; '.join(changes[:5])}")

            progress.step(NAME, "publishing a good revision again")
            region.publish({})
            harness.wait_for(
                lambda: (
                    not any(
                        getattr(
                            agent_status.bundle_status(cell.agent_url, region.bundle_name),
                            "failing",
                            True,
                        )
                        for cell in region.cells
                    )
                ),
                "every agent to clear the error after a good revision",
                timeout=REJECTION_TIMEOUT_SECONDS,
            )

    result.tables.append(table)
    result.figure("bad bundles published", len(variants))
    result.figure("decision probes per bundle", len(probes) * len(sidecars))
    names = [variant.name for variant in variants]
    result.check(
        "every agent kept the previous revision",
        rejected_everywhere == names,
        f"{len(rejected_everywhere)} of {len(names)} variants rejected by every agent",
    )
    result.check(
        "no decision changed",
        unchanged == names,
        f"{len(unchanged)} of {len(names)} variants left every probe unchanged",
    )
    result.check(
        "every agent reported the rejection in its status",
        statuses_seen == names,
        f"{len(statuses_seen)} of {len(names)} variants reported by every agent "
        f"within {REJECTION_TIMEOUT_SECONDS} s",
    )
