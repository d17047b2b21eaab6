"""Build step: check, test, compile and sign the policy into a WebAssembly bundle.

The output is OUT_DIR/NAME/bundle.tar.gz with policy.wasm for the entrypoint
envoy/authz/result, the Rego sources, data.json and a .manifest with the revision and
the roots, signed with ES256. Every check runs before anything is written there, and
the bundle replaces the previous one in one rename, so a failed build leaves the
previous output as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wasm import layout
from wasm.builtins import write_bundle_capabilities
from wasm.checks import (
    check_format,
    check_policy,
    check_tests,
    display_path,
    policy_files,
)
from wasm.data import Issuer, authz_data, load_data_file
from wasm.errors import BundleError
from wasm.keys import load_private_key
from wasm.opa import failure_reason, run_opa
from wasm.signing import DEFAULT_SIGNING_KEY_ID, SIGNING_ALGORITHM

log = logging.getLogger(__name__)

DEFAULT_MIN_COVERAGE = 90.0


@dataclass(frozen=True)
class BuildResult:
    """A built bundle: where it is, its revision, and what its tests showed."""

    name: str
    bundle: Path
    revision: str
    tests_passed: int
    coverage_percent: float


def build_bundle(
    name: str,
    *,
    signing_key: Path,
    issuers: Sequence[Issuer] = (),
    policy_dir: Path = layout.POLICY_DIR,
    data_file: Path = layout.SAMPLE_DATA_FILE,
    out_dir: Path = layout.OUT_DIR,
    revision: str | None = None,
    key_id: str = DEFAULT_SIGNING_KEY_ID,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> BuildResult:
    """Check, test, compile and sign the policy in policy_dir with the data in data_file.

    issuers replace the data file's token issuers (the local region passes the issuer
    key it generated at bring-up). revision defaults to a digest of the policy, the
    data and the OPA version, so the same inputs give the same revision.
    """
    layout.check_bundle_name(name)
    if revision is not None:
        layout.check_revision(revision)
    if not 0 <= min_coverage <= 100:
        raise BundleError(
            f"invalid --min-coverage {min_coverage:g}: expected 0 to 100 (percent of lines)"
        )
    layout.check_output_directory(out_dir, "--out-dir")
    layout.check_output_directory(out_dir / name, "--out-dir")
    load_private_key(signing_key, role="signing key")
    files = policy_files(policy_dir)
    data = authz_data(load_data_file(data_file), issuers, source=display_path(data_file))

    with tempfile.TemporaryDirectory(prefix="wasm-build-") as scratch:
        scratch_dir = Path(scratch)
        capabilities = write_bundle_capabilities(scratch_dir / "capabilities.json")

        check_policy(files, capabilities)
        log.info("build: opa check --strict passed for %d files", len(files.all))
        check_format(files, policy_dir)
        log.info("build: opa fmt reports no changes")
        report = check_tests(files, min_coverage=min_coverage)
        log.info(
            "build: %d policy tests passed on the rego and wasm targets, line coverage %.1f%%",
            report.passed,
            report.coverage_percent,
        )

        stage = scratch_dir / "bundle"
        _stage_bundle(stage, files.sources, data)
        revision = revision or _content_revision(stage)
        manifest = {"revision": revision, "roots": list(layout.ROOTS)}
        (stage / ".manifest").write_text(json.dumps(manifest) + "\n")

        built = scratch_dir / layout.BUNDLE_FILE
        _compile(stage, built, capabilities, signing_key, key_id)
        log.info("build: compiled %s and signed it with key id %s", layout.ENTRYPOINT, key_id)

        output = layout.bundle_output_path(out_dir, name)
        _install(built, output)
    log.info("build: wrote %s (revision %s)", display_path(output), revision)
    return BuildResult(
        name=name,
        bundle=output,
        revision=revision,
        tests_passed=report.passed,
        coverage_percent=report.coverage_percent,
    )


def _stage_bundle(stage: Path, sources: Sequence[Path], data: dict) -> None:
    policy_stage = stage / "policies" / "authz"
    policy_stage.mkdir(parents=True)
    for source in sources:
        shutil.copyfile(source, policy_stage / source.name)
    data_stage = stage / "authz"
    data_stage.mkdir()
    # `opa build --bundle` loads authz/data.json at data.authz, the root the bundle owns.
    (data_stage / "data.json").write_text(
        json.dumps(data["authz"], indent=2, sort_keys=True) + "\n"
    )


def _content_revision(stage: Path) -> str:
    digest = hashlib.sha256()
    version = run_opa(["version"]).stdout.splitlines()[0]
    digest.update(version.encode() + b"\0")
    for path in sorted(stage.rglob("*")):
        if path.is_file():
            relative = path.relative_to(stage).as_posix()
            digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _compile(stage: Path, output: Path, capabilities: Path, signing_key: Path, key_id: str) -> None:
    completed = run_opa(
        [
            "build",
            "--bundle",
            ".",
            "--target",
            "wasm",
            "--entrypoint",
            layout.ENTRYPOINT,
            "--capabilities",
            capabilities,
            "--signing-key",
            signing_key.resolve(),
            "--signing-alg",
            SIGNING_ALGORITHM,
            "--verification-key-id",
            key_id,
            "--output",
            output,
        ],
        cwd=stage,
    )
    if completed.returncode != 0:
        raise BundleError(f"`opa build` failed: {failure_reason(completed)}")


def _install(built: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    shutil.copyfile(built, partial)
    os.replace(partial, output)
