"""Values of the pulumi-tls and pulumi-random resources, generated for real where it is cheap."""

import base64
import datetime
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from offline.ids import digest, hex_id
from offline.wire import plain

Computed = dict[str, Any]
_CURVES = {
    "P224": ec.SECP224R1(),
    "P256": ec.SECP256R1(),
    "P384": ec.SECP384R1(),
    "P521": ec.SECP521R1(),
}


def tls_private_key(urn: str, inputs: dict) -> tuple[str, Computed]:
    """Return a real key pair in the formats pulumi-tls outputs; ECDSA keys derive from the URN."""
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "ECDSA":
        curve = _CURVES[str(inputs.get("ecdsaCurve", "P224"))]
        key = ec.derive_private_key(int(digest(urn), 16) % 2 ** (curve.key_size - 1) + 1, curve)
    elif algorithm == "RSA":
        key = rsa.generate_private_key(
            public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048))
        )
    else:
        raise ValueError(f"the offline mocks generate RSA and ECDSA keys, not {algorithm!r}")

    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_ssh = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    traditional = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw_ssh = base64.b64decode(public_ssh.split()[1])
    return hashlib.sha1(public_pem).hexdigest(), {
        "privateKeyPem": traditional.decode(),
        "privateKeyPemPkcs8": pkcs8.decode(),
        "publicKeyPem": public_pem.decode(),
        "publicKeyOpenssh": public_ssh.decode() + "\n",
        "publicKeyFingerprintMd5": ":".join(f"{b:02x}" for b in hashlib.md5(raw_ssh).digest()),
        "publicKeyFingerprintSha256": "SHA256:"
        + base64.b64encode(hashlib.sha256(raw_ssh).digest()).decode().rstrip("="),
    }


def tls_self_signed_cert(urn: str, inputs: dict) -> tuple[str, Computed]:
    """Return a real certificate for the subject and DNS names, signed by the given key."""
    # The key arrives as a secret, still wrapped in the SDK's secret encoding.
    inputs, _ = plain(inputs)
    key = serialization.load_pem_private_key(str(inputs["privateKeyPem"]).encode(), None)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, str((inputs.get("subject") or {})["commonName"]))]
    )
    # A fixed start keeps the certificate, and so the Secret, the same from run to run.
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    hours = int(inputs.get("validityPeriodHours", 24))
    serial = int(digest(urn)[:32], 16) or 1
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(hours=hours))
    )
    names = [x509.DNSName(str(name)) for name in inputs.get("dnsNames") or []]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    return str(serial), {
        "certPem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": start.isoformat().replace("+00:00", "Z"),
        "validityEndTime": certificate.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "readyForRenewal": False,
    }


def random_password(urn: str, inputs: dict) -> tuple[str, Computed]:
    length = int(inputs.get("length", 16))
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    seed = digest(urn)
    while len(seed) < length * 2:
        seed += digest(seed)
    result = "".join(
        alphabet[int(seed[i * 2 : i * 2 + 2], 16) % len(alphabet)] for i in range(length)
    )
    return "none", {"result": result, "bcryptHash": "$2a$10$" + hex_id(urn + "bcrypt", 53)}


def random_id(urn: str, inputs: dict) -> tuple[str, Computed]:
    size = int(inputs.get("byteLength", 8))
    raw = bytes.fromhex(digest(urn)[: size * 2])
    b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return b64, {
        "hex": raw.hex(),
        "b64Url": b64,
        "b64Std": base64.b64encode(raw).decode(),
        "dec": str(int(raw.hex(), 16)),
    }


def random_string(urn: str, inputs: dict) -> tuple[str, Computed]:
    _, computed = random_password(urn, inputs)
    return computed["result"], {"result": computed["result"]}
