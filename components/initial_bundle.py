"""Build and sign the governance plane's first bundle with the key Pulumi generated.

`pulumi up` calls this once the signing key exists: it runs the `wasm` package's build
(policy checks, tests on both targets, `opa build -t wasm`, ES256 signature) into a
scratch directory and hands the tarball to the bucket objects. A preview of a new stack
skips it because the key is not known yet.
"""

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_DIR = REPOSITORY_ROOT / "policies" / "authz"
DEFAULT_DATA_FILE = DEFAULT_POLICY_DIR / "data.sample.json"


@dataclass(frozen=True)
class BuiltBundle:
    path: str
    revision: str


@functools.lru_cache(maxsize=8)
def build_initial_bundle(
    private_key_pem: str,
    name: str,
    key_id: str,
    issuers: tuple[tuple[str, str, str], ...],
    policy_dir: str,
    data_file: str,
) -> BuiltBundle:
    """Build bundle `name` signed with `private_key_pem`; `issuers` are (iss, aud, public PEM).

    The result is cached per process, so a program that needs the same bundle twice (or a
    test run of several stacks) builds it once.
    """
    from wasm.build import build_bundle
    from wasm.data import Issuer

    scratch = Path(tempfile.mkdtemp(prefix="cellarch-bundle-"))
    # The engine reads the tarball while the program runs; it is removed at exit.
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    signing_key = scratch / "signing.key.pem"
    signing_key.touch(mode=0o600)
    signing_key.write_text(private_key_pem)
    trusted = []
    for index, (iss, aud, pem) in enumerate(issuers):
        key_file = scratch / f"issuer-{index}.pub.pem"
        key_file.write_text(pem)
        trusted.append(Issuer(iss=iss, aud=aud, public_keys=(key_file,)))

    result = build_bundle(
        name,
        signing_key=signing_key,
        issuers=trusted,
        policy_dir=Path(policy_dir),
        data_file=Path(data_file),
        out_dir=scratch / "out",
        key_id=key_id,
    )
    signing_key.unlink()
    return BuiltBundle(path=str(result.bundle), revision=result.revision)
