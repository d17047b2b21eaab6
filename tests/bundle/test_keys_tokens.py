"""ES256 key pairs and caller tokens."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from tests.bundle.conftest import run_cli
from wasm.errors import BundleError
from wasm.keys import KeyPair, generate_key_pair, load_private_key, load_public_key, public_jwk
from wasm.tokens import mint_token


def test_keygen_private_key_mode_0600(tmp_path: Path) -> None:
    pair = generate_key_pair(tmp_path, "issuer")

    assert stat.S_IMODE(pair.private_key.stat().st_mode) == 0o600
    assert pair.private_key.name == "issuer.key.pem"
    assert pair.public_key.name == "issuer.pub.pem"


def test_keygen_public_key_matches_private_key(tmp_path: Path) -> None:
    pair = generate_key_pair(tmp_path, "issuer")

    private_key = load_private_key(pair.private_key)
    public_key = load_public_key(pair.public_key)

    assert public_jwk(private_key.public_key()) == public_jwk(public_key)


def test_keygen_rejects_existing_pair(tmp_path: Path) -> None:
    generate_key_pair(tmp_path, "issuer")

    with pytest.raises(BundleError, match=r"^key file already exists: .*issuer\.key\.pem;"):
        generate_key_pair(tmp_path, "issuer")


def test_keygen_exist_ok_keeps_existing_pair(tmp_path: Path) -> None:
    first = generate_key_pair(tmp_path, "issuer")
    private_pem = first.private_key.read_bytes()

    second = generate_key_pair(tmp_path, "issuer", exist_ok=True)

    assert second == first
    assert second.private_key.read_bytes() == private_pem


def test_keygen_exist_ok_rejects_mismatched_pair(tmp_path: Path) -> None:
    generate_key_pair(tmp_path, "issuer")
    other = generate_key_pair(tmp_path, "other")
    (tmp_path / "issuer.pub.pem").write_bytes(other.public_key.read_bytes())

    with pytest.raises(BundleError, match=r"issuer\.pub\.pem is not the public key of"):
        generate_key_pair(tmp_path, "issuer", exist_ok=True)


def test_keygen_rejects_name_with_slash(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"^invalid key name '\.\./issuer'"):
        generate_key_pair(tmp_path / "keys", "../issuer")

    assert not (tmp_path / "keys").exists()


def test_token_claims(keys: dict[str, KeyPair]) -> None:
    token = mint_token(
        keys["issuer"].private_key,
        subject="orders-web",
        ttl_seconds=300,
        now=1_900_000_000,
    )

    claims = jwt.decode(
        token,
        load_public_key(keys["issuer"].public_key),
        algorithms=["ES256"],
        audience="cell-services",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "sub": "orders-web",
        "iss": "local-region",
        "aud": "cell-services",
        "iat": 1_900_000_000,
        "exp": 1_900_000_300,
    }


def test_token_header_names_key_thumbprint(keys: dict[str, KeyPair]) -> None:
    token = mint_token(keys["issuer"].private_key, subject="billing")

    header = jwt.get_unverified_header(token)

    assert header == {
        "alg": "ES256",
        "typ": "JWT",
        "kid": public_jwk(load_public_key(keys["issuer"].public_key))["kid"],
    }


@pytest.mark.parametrize(
    ("subject", "ttl_seconds", "message"),
    [
        ("", 60, "token subject is empty; pass the caller name, e.g. orders-web"),
        ("billing", 0, "token lifetime is 0 s; expected a positive number"),
        ("billing", -5, "token lifetime is -5 s; expected a positive number"),
    ],
)
def test_token_rejects_bad_claims(
    keys: dict[str, KeyPair], subject: str, ttl_seconds: int, message: str
) -> None:
    with pytest.raises(BundleError) as raised:
        mint_token(keys["issuer"].private_key, subject=subject, ttl_seconds=ttl_seconds)

    assert str(raised.value) == message


def test_cli_keygen_then_token(tmp_path: Path) -> None:
    keygen = run_cli("keygen", "--out", str(tmp_path), "--name", "issuer")
    token = run_cli(
        "token",
        "--issuer-key",
        str(tmp_path / "issuer.key.pem"),
        "--subject",
        "support",
        "--ttl",
        "120",
    )

    assert keygen.returncode == 0
    assert token.returncode == 0
    claims = jwt.decode(
        token.stdout.strip(),
        load_public_key(tmp_path / "issuer.pub.pem"),
        algorithms=["ES256"],
        audience="cell-services",
        issuer="local-region",
    )
    assert claims["sub"] == "support"
    assert claims["exp"] - claims["iat"] == 120


def test_cli_token_with_missing_key(tmp_path: Path) -> None:
    completed = run_cli(
        "token", "--issuer-key", str(tmp_path / "absent.pem"), "--subject", "billing"
    )

    assert completed.stderr == (
        f"error: issuer key not found: {tmp_path}/absent.pem; "
        "generate one with `python -m wasm keygen`\n"
    )
    assert completed.returncode == 2


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("taken", "error: key directory {root}/taken is a file; expected a directory\n"),
        (
            "taken/sub",
            "error: key directory {root}/taken/sub is inside {root}/taken, a file; "
            "expected a directory\n",
        ),
    ],
    ids=["out is a file", "out is below a file"],
)
def test_cli_keygen_rejects_out_that_is_not_a_directory(
    tmp_path: Path, out: str, expected: str
) -> None:
    (tmp_path / "taken").write_text("a user's file\n")

    completed = run_cli("keygen", "--out", str(tmp_path / out))

    assert completed.stderr == expected.format(root=tmp_path)
    assert completed.returncode == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]
    assert (tmp_path / "taken").read_text() == "a user's file\n"
