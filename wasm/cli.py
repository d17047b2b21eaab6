"""Command line: `python -m wasm {keygen,token,build,verify,publish,builtins}`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from wasm import layout
from wasm.builtins import FORBIDDEN_BUILTINS, allowed_builtins
from wasm.data import Issuer
from wasm.errors import BundleError
from wasm.signing import DEFAULT_SIGNING_KEY_ID
from wasm.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_TOKEN_TTL_SECONDS

USER_ERROR_STATUS = 2


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage text.

    Subcommand parsers inherit the class, so their errors are one line too.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR_STATUS, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every subcommand."""
    parser = _OneLineParser(
        prog="python -m wasm",
        description="Build, sign and publish the envoy.authz policy bundle, and create "
        "the keys and caller tokens it uses.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser(
        "keygen",
        help="generate an ES256 key pair",
        description="Write NAME.key.pem (mode 0600) and NAME.pub.pem, a P-256 key pair for "
        "ES256: the bundle signing key or the token issuer key.",
    )
    keygen.add_argument("--out", type=Path, required=True, help="directory for the PEM files")
    keygen.add_argument(
        "--name", default=DEFAULT_SIGNING_KEY_ID, help="file name stem (default: %(default)s)"
    )
    keygen.add_argument(
        "--exist-ok",
        action="store_true",
        help="return an existing pair of that name instead of failing",
    )

    token = commands.add_parser(
        "token",
        help="mint a caller token",
        description="Print an ES256 JWT for a caller, signed with the issuer's private key.",
    )
    token.add_argument("--issuer-key", type=Path, required=True, help="issuer private key (PEM)")
    token.add_argument("--subject", required=True, help="caller name, e.g. orders-web")
    token.add_argument("--issuer", default=DEFAULT_ISSUER, help="iss claim (default: %(default)s)")
    token.add_argument(
        "--audience", default=DEFAULT_AUDIENCE, help="aud claim (default: %(default)s)"
    )
    token.add_argument(
        "--ttl",
        type=int,
        default=DEFAULT_TOKEN_TTL_SECONDS,
        help="lifetime in seconds (default: %(default)s)",
    )

    build = commands.add_parser(
        "build",
        help="check, test, compile and sign the policy",
        description="Run opa check --strict with the bundle capabilities, opa fmt, opa test "
        "on the rego and wasm targets with a coverage floor, then opa build -t wasm and "
        "sign. Writes OUT_DIR/NAME/bundle.tar.gz.",
    )
    build.add_argument("name", help="bundle name, e.g. authz")
    build.add_argument(
        "--signing-key", type=Path, required=True, help="bundle signing private key (PEM)"
    )
    build.add_argument(
        "--issuer-key",
        type=Path,
        action="append",
        default=[],
        help="token issuer public key (PEM); repeat during a key rotation",
    )
    build.add_argument(
        "--issuer", default=DEFAULT_ISSUER, help="expected iss (default: %(default)s)"
    )
    build.add_argument(
        "--audience", default=DEFAULT_AUDIENCE, help="expected aud (default: %(default)s)"
    )
    build.add_argument(
        "--data",
        type=Path,
        default=layout.SAMPLE_DATA_FILE,
        help="routes table JSON (default: policies/authz/data.sample.json)",
    )
    build.add_argument(
        "--policy-dir",
        type=Path,
        default=layout.POLICY_DIR,
        help="Rego policy and tests (default: policies/authz)",
    )
    build.add_argument(
        "--out-dir", type=Path, default=layout.OUT_DIR, help="output root (default: wasm/out)"
    )
    build.add_argument("--revision", help="manifest revision (default: digest of the inputs)")
    build.add_argument(
        "--key-id",
        default=DEFAULT_SIGNING_KEY_ID,
        help="key id in the signature, as the agents' keys name it (default: %(default)s)",
    )
    build.add_argument(
        "--min-coverage",
        type=float,
        default=90.0,
        help="required line coverage of the policy tests, in percent (default: %(default)s)",
    )

    verify = commands.add_parser(
        "verify",
        help="verify a bundle signature with OPA",
        description="Verify the bundle's .signatures.json as an agent does.",
    )
    verify.add_argument("bundle", type=Path, help="bundle.tar.gz")
    verify.add_argument("--public-key", type=Path, required=True, help="signing public key (PEM)")
    verify.add_argument(
        "--key-id", default=DEFAULT_SIGNING_KEY_ID, help="key id (default: %(default)s)"
    )

    publish = commands.add_parser(
        "publish",
        help="upload a bundle to the S3 bundle repository",
        description="Upload to bundles/NAME/REVISION/bundle.tar.gz, then copy it to "
        "bundles/NAME/current/bundle.tar.gz, the key the agents poll.",
    )
    publish.add_argument("bundle", type=Path, help="bundle.tar.gz from the build step")
    publish.add_argument("--bucket", required=True, help="bucket name")
    publish.add_argument("--name", required=True, help="bundle name, e.g. authz")
    publish.add_argument(
        "--public-key",
        type=Path,
        required=True,
        help="signing public key (PEM); the signature must verify before anything is uploaded",
    )
    publish.add_argument(
        "--key-id", default=DEFAULT_SIGNING_KEY_ID, help="key id (default: %(default)s)"
    )
    publish.add_argument(
        "--endpoint-url",
        help="S3 endpoint URL (default: $BUNDLE_REPOSITORY_ENDPOINT, else AWS S3)",
    )
    publish.add_argument("--region", help="AWS region (default: boto3's configuration)")
    publish.add_argument(
        "--create-bucket",
        action="store_true",
        help="create the bucket with versioning on if it does not exist",
    )

    commands.add_parser(
        "builtins",
        help="list the built-ins a bundle may call",
        description="Print the built-in functions allowed in a bundle, then the forbidden "
        "ones with the reason.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return 0, or print a one-line error and return 2."""
    arguments = build_parser().parse_args(argv)
    _log_steps_to_stderr()
    try:
        _run(arguments)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR_STATUS
    return 0


def _log_steps_to_stderr() -> None:
    # Print this package's step lines only, so boto3's own INFO messages stay silent.
    logger = logging.getLogger("wasm")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _run(arguments: argparse.Namespace) -> None:
    if arguments.command == "keygen":
        from wasm.keys import generate_key_pair

        pair = generate_key_pair(arguments.out, arguments.name, exist_ok=arguments.exist_ok)
        print(f"keygen: private key {pair.private_key} (mode 0600)", file=sys.stderr)
        print(f"keygen: public key {pair.public_key}", file=sys.stderr)
    elif arguments.command == "token":
        from wasm.tokens import mint_token

        print(
            mint_token(
                arguments.issuer_key,
                subject=arguments.subject,
                issuer=arguments.issuer,
                audience=arguments.audience,
                ttl_seconds=arguments.ttl,
            )
        )
    elif arguments.command == "build":
        from wasm.build import build_bundle

        issuers = (
            [Issuer(arguments.issuer, arguments.audience, tuple(arguments.issuer_key))]
            if arguments.issuer_key
            else []
        )
        result = build_bundle(
            arguments.name,
            signing_key=arguments.signing_key,
            issuers=issuers,
            policy_dir=arguments.policy_dir,
            data_file=arguments.data,
            out_dir=arguments.out_dir,
            revision=arguments.revision,
            key_id=arguments.key_id,
            min_coverage=arguments.min_coverage,
        )
        print(result.bundle)
    elif arguments.command == "verify":
        from wasm.signing import verify_bundle

        verify_bundle(arguments.bundle, arguments.public_key, key_id=arguments.key_id)
        print(f"verify: signature of {arguments.bundle} verifies with {arguments.public_key}")
    elif arguments.command == "publish":
        from wasm.publish import publish_bundle

        result = publish_bundle(
            arguments.bundle,
            bucket=arguments.bucket,
            name=arguments.name,
            public_key=arguments.public_key,
            key_id=arguments.key_id,
            endpoint_url=arguments.endpoint_url,
            region=arguments.region,
            create_bucket=arguments.create_bucket,
        )
        print(f"s3://{result.bucket}/{result.current_key}")
    elif arguments.command == "builtins":
        for name in allowed_builtins():
            print(name)
        for name, reason in sorted(FORBIDDEN_BUILTINS.items()):
            print(f"# forbidden: {name}: {reason}")
