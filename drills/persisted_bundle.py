"""The bundle an agent persisted to disk, and the signing settings of its configuration."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import yaml

from localregion.topology import Cell


def persisted_bundle_path(cell: Cell, bundle: str) -> Path:
    """Return the file OPA persists the bundle to: PERSISTENCE_DIR/bundles/NAME/bundle.tar.gz."""
    return cell.persistence_directory / "bundles" / bundle / "bundle.tar.gz"


def bundle_members(path: Path) -> list[str]:
    """Return the names of the files in a bundle archive, without a leading "/".

    opa build writes names such as "/.signatures.json"; the leading slash is dropped so
    that callers can compare with plain file names.
    """
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as archive:
        return [name.lstrip("/") for name in archive.getnames()]


def signing_key_id(cell: Cell, bundle: str) -> str | None:
    """Return bundles.<bundle>.signing.keyid of the cell's agent configuration, or None."""
    config = yaml.safe_load((cell.directory / "agent.yaml").read_text())
    signing = ((config.get("bundles") or {}).get(bundle) or {}).get("signing") or {}
    return signing.get("keyid")
