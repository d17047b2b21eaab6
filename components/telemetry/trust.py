"""Mutual TLS between the cells' collectors and the region's collector gateway (I8).

The cells reach the gateway through a load balancer, across networks they share with no
one (I6), so OTLP travels over mutual TLS. A region keeps one telemetry certificate
authority in its Pulumi state. The authority signs one server certificate for the gateway
and one client certificate per cell, each with its own key, so a cell's key belongs to that
cell alone. The gateway accepts only clients whose certificate this authority signed.
"""

import re
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.errors import ConfigError
from components.sidecar.validation import is_ip_address

# Folder of the mounted Secret that `secret_data` fills.
TLS_DIRECTORY = "/etc/otelcol-tls"
CA_FILE = f"{TLS_DIRECTORY}/ca.crt"
CERT_FILE = f"{TLS_DIRECTORY}/tls.crt"
KEY_FILE = f"{TLS_DIRECTORY}/tls.key"
# The collectors read their certificate and key again at this interval, so a renewed
# certificate takes effect without a restart. Both read the CA only at start, so a new
# authority rolls their pods through a digest in the pod templates.
# NOTE: client_ca_file_reload stays off. With it, collector v0.115.0's gRPC receiver
# completes TLS without ALPN, so every gRPC client fails with "missing selected ALPN
# property" (seen with a real collector in tests/components/test_telemetry_collectors.py).
RELOAD_INTERVAL = "1h"
CA_DAYS = 5 * 365
LEAF_DAYS = 365
# An update in a certificate's last 30 days replaces it.
EARLY_RENEWAL_HOURS = 30 * 24
# The PEM label each field must carry: a certificate, or any kind of private key.
_PEM_LABELS = {
    "ca_certificate_pem": re.compile(r"^\s*-----BEGIN CERTIFICATE-----"),
    "certificate_pem": re.compile(r"^\s*-----BEGIN CERTIFICATE-----"),
    "private_key_pem": re.compile(r"^\s*-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
}
_PEM_EXPECTED = {
    "ca_certificate_pem": "a PEM certificate (-----BEGIN CERTIFICATE-----)",
    "certificate_pem": "a PEM certificate (-----BEGIN CERTIFICATE-----)",
    "private_key_pem": "a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
}
_ENDPOINT = re.compile(r"^(?P<host>[^:\s]+):(?P<port>\d{1,5})$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
ENDPOINT_EXPECTED = "HOST:PORT with a DNS name or IPv4 address and a port from 1 to 65535"


def endpoint_host(endpoint: object, key: str = "telemetry_endpoint") -> str:
    """Return the host of an OTLP `host:port` endpoint, which the gateway's certificate names."""
    match = _ENDPOINT.match(endpoint) if isinstance(endpoint, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ConfigError(key, endpoint, ENDPOINT_EXPECTED)
    host = match["host"]
    if not is_ip_address(host) and not all(_DNS_LABEL.match(part) for part in host.split(".")):
        raise ConfigError(key, endpoint, ENDPOINT_EXPECTED)
    return host


@dataclass
class TelemetryTLSArgs:
    """PEM material of one end of the OTLP connection between the cells and the gateway."""

    ca_certificate_pem: pulumi.Input[str]
    """Certificate authority that signed the other end's certificate."""
    certificate_pem: pulumi.Input[str]
    """This end's certificate."""
    private_key_pem: pulumi.Input[str]
    """This end's private key, which Pulumi stores as a secret."""

    def validate(self, key: str) -> None:
        """Reject a missing field, a value of another type, or a string with the wrong PEM
        label. Outputs pass unchecked, since their values arrive later."""
        for name, label in _PEM_LABELS.items():
            value = getattr(self, name)
            if isinstance(value, pulumi.Output):
                continue
            if not isinstance(value, str):
                type_name = value if value is None else type(value).__name__
                raise ConfigError(f"{key}.{name}", type_name, "a PEM string or an output of one")
            if not label.match(value):
                # The first line only, so that no key material reaches the message.
                first_line = value.strip().split("\n", 1)[0][:40]
                raise ConfigError(f"{key}.{name}", first_line, _PEM_EXPECTED[name])

    def secret_data(self) -> dict[str, pulumi.Output[str]]:
        """Return the data of the Secret that the collector mounts at TLS_DIRECTORY."""
        return {
            "ca.crt": pulumi.Output.from_input(self.ca_certificate_pem),
            "tls.crt": pulumi.Output.from_input(self.certificate_pem),
            "tls.key": pulumi.Output.secret(self.private_key_pem),
        }


class TelemetryAuthority:
    """A certificate authority for telemetry, and the certificates it signs.

    The resources are ordinary children of `parent`, so no component of its own appears
    in the resource tree.
    """

    def __init__(
        self, name: str, region: str, tls_provider: pulumi.ProviderResource, parent: pulumi.Resource
    ) -> None:
        self._name = name
        self._opts = pulumi.ResourceOptions(parent=parent, provider=tls_provider)
        key = self._private_key(f"{name}-ca-key")
        certificate = tls.SelfSignedCert(
            f"{name}-ca-certificate",
            private_key_pem=key.private_key_pem,
            subject={"common_name": f"cellarch telemetry CA {region}"},
            is_ca_certificate=True,
            validity_period_hours=CA_DAYS * 24,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=self._opts,
        )
        self._ca_key_pem = key.private_key_pem
        self.ca_certificate_pem: pulumi.Output[str] = certificate.cert_pem

    def client(self, cell: str) -> TelemetryTLSArgs:
        """Sign a client certificate, with its own key, for the collectors of one cell."""
        return self._issue(f"{self._name}-{cell}-client", f"cell {cell}", [], "client_auth")

    def server(self, host: str) -> TelemetryTLSArgs:
        """Sign the gateway's server certificate for `host`, a DNS name or an IPv4 address."""
        return self._issue(f"{self._name}-gateway", host, [host], "server_auth")

    def _issue(self, name: str, common_name: str, hosts: list[str], usage: str):
        addresses = [host for host in hosts if is_ip_address(host)]
        key = self._private_key(f"{name}-key")
        request = tls.CertRequest(
            f"{name}-request",
            private_key_pem=key.private_key_pem,
            subject={"common_name": common_name},
            dns_names=[host for host in hosts if host not in addresses],
            ip_addresses=addresses,
            opts=self._opts,
        )
        certificate = tls.LocallySignedCert(
            f"{name}-certificate",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=self._ca_key_pem,
            ca_cert_pem=self.ca_certificate_pem,
            validity_period_hours=LEAF_DAYS * 24,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", usage],
            opts=self._opts,
        )
        return TelemetryTLSArgs(
            ca_certificate_pem=self.ca_certificate_pem,
            certificate_pem=certificate.cert_pem,
            private_key_pem=key.private_key_pem,
        )

    def _private_key(self, name: str) -> tls.PrivateKey:
        return tls.PrivateKey(
            name,
            algorithm="ECDSA",
            ecdsa_curve="P256",
            opts=pulumi.ResourceOptions.merge(
                self._opts,
                pulumi.ResourceOptions(
                    additional_secret_outputs=["privateKeyPem", "privateKeyPemPkcs8"]
                ),
            ),
        )


def receiver_tls() -> dict:
    """Return the gateway receiver's TLS settings: its certificate, and client certificates
    required from the authority in CA_FILE."""
    return {
        "cert_file": CERT_FILE,
        "key_file": KEY_FILE,
        "client_ca_file": CA_FILE,
        "min_version": "1.2",
        "reload_interval": RELOAD_INTERVAL,
    }


def exporter_tls() -> dict:
    """Return a cell collector's exporter TLS settings: the gateway verified against CA_FILE,
    and the cell's client certificate."""
    return {
        "insecure": False,
        "ca_file": CA_FILE,
        "cert_file": CERT_FILE,
        "key_file": KEY_FILE,
        "min_version": "1.2",
        "reload_interval": RELOAD_INTERVAL,
    }
