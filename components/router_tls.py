"""TLS of the region's router: the certificate it serves, and the Envoy settings that use it.

Users reach the router through a TCP load balancer, so the router terminates TLS itself
(I8). It serves the certificate of a `kubernetes.io/tls` Secret: one the caller names, for
example from cert-manager, or else a self-signed one made with pulumi-tls, which clients
reject unless they pin it. Towards the cells, every cell's cluster speaks TLS to the `edge`
listener of that cell's public service. The local region's router comes from the same
generator and speaks plain HTTP on loopback, so these additions are made here, for
clusters only.
"""

import copy

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.kubernetes.mtls import DOWNSTREAM_TLS, TLS_TRANSPORT, UPSTREAM_TLS
from components.sidecar.envoy_router import CELL_CLUSTER_PREFIX

TLS_DIRECTORY = "/etc/router-tls"
TLS_PARAMS = {"tls_minimum_protocol_version": "TLSv1_2"}
CERTIFICATE_DAYS = 365


def self_signed_secret(
    name: str,
    hostname: str,
    namespace: str,
    labels: dict[str, str],
    tls_provider: pulumi.ProviderResource,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """Create a P-256 key, a self-signed certificate for `hostname` and their Secret."""
    in_tls = pulumi.ResourceOptions(parent=opts.parent, provider=tls_provider)
    key = tls.PrivateKey(
        f"{name}-tls-key",
        algorithm="ECDSA",
        ecdsa_curve="P256",
        opts=pulumi.ResourceOptions.merge(
            in_tls,
            pulumi.ResourceOptions(
                additional_secret_outputs=["privateKeyPem", "privateKeyPemPkcs8"]
            ),
        ),
    )
    certificate = tls.SelfSignedCert(
        f"{name}-tls-certificate",
        private_key_pem=key.private_key_pem,
        subject={"common_name": hostname},
        dns_names=[hostname],
        validity_period_hours=CERTIFICATE_DAYS * 24,
        # An update in the certificate's last 30 days replaces it.
        early_renewal_hours=30 * 24,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=in_tls,
    )
    return k8s.core.v1.Secret(
        f"{name}-tls",
        metadata={"name": "router-tls", "namespace": namespace, "labels": labels},
        type="kubernetes.io/tls",
        string_data={
            "tls.crt": certificate.cert_pem,
            "tls.key": pulumi.Output.secret(key.private_key_pem),
        },
        opts=opts,
    )


def with_tls(bootstrap: dict) -> dict:
    """Return a copy of the router bootstrap with TLS on its listener and towards the cells."""
    config = copy.deepcopy(bootstrap)
    resources = config["static_resources"]
    for listener in resources["listeners"]:
        for chain in listener["filter_chains"]:
            chain["transport_socket"] = {
                "name": TLS_TRANSPORT,
                "typed_config": {
                    "@type": DOWNSTREAM_TLS,
                    "common_tls_context": {
                        "tls_params": TLS_PARAMS,
                        "tls_certificates": [
                            {
                                "certificate_chain": {"filename": f"{TLS_DIRECTORY}/tls.crt"},
                                "private_key": {"filename": f"{TLS_DIRECTORY}/tls.key"},
                            }
                        ],
                    },
                },
            }
    cell_clusters = [c for c in resources["clusters"] if c["name"].startswith(CELL_CLUSTER_PREFIX)]
    if not cell_clusters:
        raise ValueError("the router bootstrap has no cell cluster to secure with TLS")
    for cluster in cell_clusters:
        # NOTE: the router has no SPIFFE identity and no trust bundle of the cells' trust
        # domains, so it encrypts but neither verifies the cells' certificates nor presents
        # one.
        cluster["transport_socket"] = {
            "name": TLS_TRANSPORT,
            "typed_config": {
                "@type": UPSTREAM_TLS,
                "common_tls_context": {"tls_params": TLS_PARAMS},
            },
        }
    return config
