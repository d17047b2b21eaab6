"""Values of the pulumi-tls and pulumi-random resources, generated for real where it is cheap."""

import base64
import datetime
import hashlib
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from offline.ids import digest, hex_id
from offline.wire import plain

Computed = dict[str, Any]
# pulumi-tls `allowed_uses` values and the x509.KeyUsage flags they set.
_KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
_EXTENDED_USAGES = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
}
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
    subject = _subject(inputs)
    builder = _certificate_builder(urn, inputs, subject, subject, key.public_key())
    builder = _with_names(builder, inputs.get("dnsNames"), inputs.get("ipAddresses"))
    return _signed(builder, key)


def tls_cert_request(urn: str, inputs: dict) -> tuple[str, Computed]:
    """Return a real certificate signing request for the subject and names, signed by the key."""
    inputs, _ = plain(inputs)
    key = serialization.load_pem_private_key(str(inputs["privateKeyPem"]).encode(), None)
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(inputs))
    names = _general_names(inputs.get("dnsNames"), inputs.get("ipAddresses"))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    request = builder.sign(key, hashes.SHA256())
    return hex_id(urn), {
        "certRequestPem": request.public_bytes(serialization.Encoding.PEM).decode()
    }


def tls_locally_signed_cert(urn: str, inputs: dict) -> tuple[str, Computed]:
    """Return a real certificate for a request, signed by the given authority's key."""
    inputs, _ = plain(inputs)
    request = x509.load_pem_x509_csr(str(inputs["certRequestPem"]).encode())
    authority = x509.load_pem_x509_certificate(str(inputs["caCertPem"]).encode())
    authority_key = serialization.load_pem_private_key(
        str(inputs["caPrivateKeyPem"]).encode(), None
    )
    builder = _certificate_builder(
        urn, inputs, request.subject, authority.subject, request.public_key()
    )
    try:
        names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        names = None
    if names is not None:
        builder = builder.add_extension(names.value, critical=False)
    return _signed(builder, authority_key)


def _subject(inputs: dict) -> x509.Name:
    common_name = str((inputs.get("subject") or {})["commonName"])
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate_builder(
    urn: str, inputs: dict, subject: x509.Name, issuer: x509.Name, public_key
) -> x509.CertificateBuilder:
    """Start a certificate with the extensions that pulumi-tls derives from the inputs."""
    # The first day of the month keeps the certificate, and so the Secret, the same from
    # run to run, and lets a one-year certificate pass verification today.
    today = datetime.datetime.now(datetime.UTC)
    start = datetime.datetime(today.year, today.month, 1, tzinfo=datetime.UTC)
    hours = int(inputs.get("validityPeriodHours", 24))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(int(digest(urn)[:32], 16) or 1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(hours=hours))
    )
    is_authority = bool(inputs.get("isCaCertificate"))
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_authority, path_length=None), critical=True
    )
    uses = set(inputs.get("allowedUses") or [])
    if uses & set(_KEY_USAGES):
        flags = {flag: use in uses for use, flag in _KEY_USAGES.items()}
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [_EXTENDED_USAGES[use] for use in sorted(uses) if use in _EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return builder


def _with_names(builder: x509.CertificateBuilder, dns_names, ip_addresses):
    names = _general_names(dns_names, ip_addresses)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder


def _general_names(dns_names, ip_addresses) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(str(name)) for name in dns_names or []]
    names += [x509.IPAddress(ipaddress.ip_address(str(a))) for a in ip_addresses or []]
    return names


def _signed(builder: x509.CertificateBuilder, key) -> tuple[str, Computed]:
    """Sign the certificate and return its serial number and the values pulumi-tls outputs."""
    certificate = builder.sign(key, hashes.SHA256())
    start = certificate.not_valid_before_utc
    return str(certificate.serial_number), {
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
