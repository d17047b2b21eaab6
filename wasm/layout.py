"""Names and paths that the build, the repository and the agents agree on."""

from __future__ import annotations

import os
import re
from pathlib import Path

from wasm.errors import BundleError
from wasm.opa import REPO_ROOT

POLICY_DIR = REPO_ROOT / "policies" / "authz"
SAMPLE_DATA_FILE = POLICY_DIR / "data.sample.json"
OUT_DIR = REPO_ROOT / "wasm" / "out"

# The decision rule, as `opa build -e` and the agent's plugin path name it.
ENTRYPOINT = "envoy/authz/result"
# The bundle owns data.envoy (the policy), data.authz (its data) and data.system.log (the
# decision log mask), nothing else.
ROOTS = ("envoy", "authz", "system/log")
BUNDLE_FILE = "bundle.tar.gz"

# A bundle name is one path segment of the repository key and of wasm/out/.
BUNDLE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_bundle_name(name: str) -> str:
    """Return name if it can name a bundle, or raise BundleError."""
    if not BUNDLE_NAME.match(name):
        raise BundleError(
            f"invalid bundle name {name!r}: expected 1-63 lower-case letters, digits or '-', "
            "not starting or ending with '-', e.g. authz"
        )
    return name


def check_revision(revision: str) -> str:
    """Return revision if it can be one segment of a repository key, or raise BundleError."""
    if not REVISION.match(revision):
        raise BundleError(
            f"invalid revision {revision!r}: expected 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return revision


def check_output_directory(directory: Path, role: str) -> Path:
    """Return directory if it is, or can be created as, a writable directory.

    role names the directory in the error, e.g. "--out-dir". Raise BundleError naming
    the file in the way or the directory that cannot be written.
    """
    for existing in (directory, *directory.parents):
        if not existing.exists():
            continue
        if not existing.is_dir():
            where = "is a file" if existing == directory else f"is inside {existing}, a file"
            raise BundleError(f"{role} {directory} {where}; expected a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise BundleError(f"{role} {directory} cannot be written: {existing} is read-only")
        return directory
    return directory


def bundle_output_path(out_dir: Path, name: str) -> Path:
    """Return where the build writes the bundle: OUT_DIR/NAME/bundle.tar.gz."""
    return out_dir / check_bundle_name(name) / BUNDLE_FILE


def revision_key(name: str, revision: str) -> str:
    """Return the immutable repository key of one revision of a bundle."""
    return f"bundles/{check_bundle_name(name)}/{check_revision(revision)}/{BUNDLE_FILE}"


def current_key(name: str) -> str:
    """Return the repository key that the agents poll: a copy of the active revision."""
    return f"bundles/{check_bundle_name(name)}/current/{BUNDLE_FILE}"
