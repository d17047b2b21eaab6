"""Altered copies of a signed bundle, as an attacker with write access to the bucket makes them."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable

SIGNATURES_FILE = ".signatures.json"


def rewrite_bundle(
    bundle: bytes,
    edit_data: Callable[[dict], None] | None = None,
    *,
    revision: str | None = None,
    keep_signatures: bool = True,
) -> bytes:
    """Return bundle with data.json edited in place, the manifest revision replaced,
    and .signatures.json kept (now stale) or dropped."""
    output = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as source,
        tarfile.open(fileobj=output, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            name = member.name.lstrip("/")
            content = source.extractfile(member).read() if member.isfile() else b""
            if name == SIGNATURES_FILE and not keep_signatures:
                continue
            if name == "data.json" and edit_data is not None:
                document = json.loads(content)
                edit_data(document)
                content = json.dumps(document).encode()
            if name == ".manifest" and revision is not None:
                manifest = json.loads(content)
                manifest["revision"] = revision
                content = json.dumps(manifest).encode()
            copied = tarfile.TarInfo(member.name)
            copied.size = len(content)
            copied.mode = member.mode
            copied.mtime = member.mtime
            target.addfile(copied, io.BytesIO(content))
    return output.getvalue()


def member_names(bundle: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as archive:
        return [name.lstrip("/") for name in archive.getnames()]
