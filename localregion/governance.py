"""The local region's governance plane: keys, bundle builds, tokens and publishing.

Everything goes through the `wasm` package, the same build and signing path as a cloud
region; only the keys are generated here, at bring-up, into the run directory.
"""

import json
import time
from pathlib import Path

from localregion import policy_data
from localregion.errors import LocalRegionError
from localregion.repository import AWS_REGION, BundleRepository
from wasm.build import build_bundle
from wasm.data import Issuer
from wasm.errors import BundleError
from wasm.keys import generate_key_pair
from wasm.publish import publish_bundle
from wasm.signing import DEFAULT_SIGNING_KEY_ID
from wasm.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER, mint_token

ISSUER_KEY = "issuer"
# Signs tokens that no bundle trusts, for the bad-signature cases.
UNTRUSTED_ISSUER_KEY = "untrusted-issuer"
SIGNING_KEY = "bundle-signing"


class Governance:
    """Keys in key_dir, one built bundle per revision under bundle_dir."""

    def __init__(self, key_dir: Path, bundle_dir: Path, bundle_name: str) -> None:
        self.key_dir = key_dir
        self.bundle_dir = bundle_dir
        self.bundle_name = bundle_name
        self.signing_key_id = DEFAULT_SIGNING_KEY_ID

    def generate_keys(self) -> None:
        """Write the issuer, untrusted issuer and bundle signing key pairs to key_dir."""
        try:
            self._issuer = generate_key_pair(self.key_dir, ISSUER_KEY)
            self._untrusted = generate_key_pair(self.key_dir, UNTRUSTED_ISSUER_KEY)
            self._signing = generate_key_pair(self.key_dir, SIGNING_KEY)
        except BundleError as error:
            raise LocalRegionError(f"key generation failed: {error}") from None

    @property
    def signing_public_key_pem(self) -> str:
        return self._signing.public_key.read_text()

    def initial_data(self) -> dict:
        """Return data.authz without issuers; the build adds the issuer's public key."""
        return policy_data.authz_data()

    def build(self, data: dict, revision: str) -> Path:
        """Build and sign the bundle of revision with data as data.authz; return its path."""
        revision_dir = self.bundle_dir / revision
        revision_dir.mkdir(parents=True, exist_ok=True)
        data_file = revision_dir / "data.json"
        data_file.write_text(json.dumps({"authz": data}, indent=2) + "\n")
        issuer = Issuer(DEFAULT_ISSUER, DEFAULT_AUDIENCE, (self._issuer.public_key,))
        try:
            result = build_bundle(
                self.bundle_name,
                signing_key=self._signing.private_key,
                issuers=[issuer],
                data_file=data_file,
                out_dir=revision_dir,
                revision=revision,
                key_id=self.signing_key_id,
            )
        except BundleError as error:
            raise LocalRegionError(f"bundle build of revision {revision} failed: {error}") from None
        return result.bundle

    def bundle_path(self, revision: str) -> Path:
        return self.bundle_dir / revision / self.bundle_name / "bundle.tar.gz"

    def publish(self, repository: BundleRepository, bundle: Path) -> str:
        """Upload the bundle under its revision key and point the `current` key at it."""
        try:
            with repository.credentials():
                result = publish_bundle(
                    bundle,
                    bucket=repository.bucket,
                    name=self.bundle_name,
                    public_key=self._signing.public_key,
                    key_id=self.signing_key_id,
                    endpoint_url=repository.endpoint_url,
                    region=AWS_REGION,
                    create_bucket=True,
                )
        except BundleError as error:
            raise LocalRegionError(f"publishing {bundle} failed: {error}") from None
        return result.revision

    def token(
        self,
        caller: str,
        *,
        ttl_seconds: int = 300,
        trusted: bool = True,
        audience: str | None = None,
    ) -> str:
        """Mint an ES256 token for caller; a negative ttl_seconds gives an expired one."""
        key = self._issuer if trusted else self._untrusted
        now = int(time.time())
        if ttl_seconds <= 0:
            # Issued in the past, so that it expired -ttl_seconds ago after living 60 s.
            issued_at, lifetime = now + ttl_seconds - 60, 60
        else:
            issued_at, lifetime = now, ttl_seconds
        try:
            return mint_token(
                key.private_key,
                subject=caller,
                audience=audience or DEFAULT_AUDIENCE,
                ttl_seconds=lifetime,
                now=issued_at,
            )
        except BundleError as error:
            raise LocalRegionError(f"token for {caller!r} failed: {error}") from None
