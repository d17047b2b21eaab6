"""Mutual TLS with SPIFFE workload identities for the Envoy sidecar in Kubernetes (I8).

The shared generator (`components.sidecar`) builds the sidecar's listener, ext_authz filter
and clusters, which are the same locally and in a cluster. This module adds what only
exists in a cluster: certificates. Envoy fetches its X.509 SVID and the trust bundle over
SDS from the SPIRE agent's Workload API socket, which the SPIFFE CSI driver mounts into the
pod. SPIRE's SDS serves an SVID under its SPIFFE ID and a trust bundle under the trust
domain's SPIFFE ID, which are the secret names used here.

- The generator's `ingress` listener becomes the mesh listener. It requires a client
  certificate from the cell's trust domain, so only workloads with a SPIFFE identity reach
  the service, and every request still passes ext_authz.
- Public services get a second listener, `edge`, for traffic from the region's router. It
  serves the pod's SVID but asks for no client certificate, because the router holds no
  SPIFFE identity. Its filters are the same, so ext_authz decides there too.
- For each service the pod calls there is a loopback listener. It forwards to that
  service's mesh port with the pod's SVID and accepts only the callee's SPIFFE ID.

The SPIFFE ID of a pod is `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`,
the default template of SPIRE's controller manager.
"""

import copy
from dataclasses import dataclass

from components.sidecar import envoy_common as common

SPIRE_SOCKET_DIRECTORY = "/spiffe-workload-api"
SPIRE_SOCKET = f"{SPIRE_SOCKET_DIRECTORY}/spire-agent.sock"
SPIRE_CLUSTER = "spire_agent"
DOWNSTREAM_TLS = (
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
)
UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
TLS_TRANSPORT = "envoy.transport_sockets.tls"


@dataclass(frozen=True)
class Upstream:
    """A service this pod calls: a loopback port for the application, the callee's address."""

    name: str
    local_port: int
    host: str
    port: int
    spiffe_id: str


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


def add_mtls(
    bootstrap: dict,
    *,
    trust_domain: str,
    own_id: str,
    edge_port: int | None,
    upstreams: list[Upstream],
) -> dict:
    """Return a copy of a sidecar bootstrap with SPIFFE mTLS on every listener."""
    config = copy.deepcopy(bootstrap)
    resources = config["static_resources"]
    listeners = resources["listeners"]
    (mesh,) = [listener for listener in listeners if listener["name"] == "ingress"]
    trust_bundle = f"spiffe://{trust_domain}"

    if edge_port is not None:
        edge = copy.deepcopy(mesh)
        edge["name"] = "edge"
        edge["address"]["socket_address"]["port_value"] = edge_port
        _set_http_stat_prefix(edge, "edge")
        edge["filter_chains"][0]["transport_socket"] = _downstream_tls(
            own_id, trust_bundle, require_client_certificate=False
        )
        listeners.append(edge)

    mesh["filter_chains"][0]["transport_socket"] = _downstream_tls(
        own_id, trust_bundle, require_client_certificate=True
    )
    for upstream in upstreams:
        listeners.append(_outbound_listener(upstream))
        resources["clusters"].append(_upstream_cluster(upstream, own_id, trust_bundle))
    resources["clusters"].append(_spire_cluster())
    return config


def _sds(name: str) -> dict:
    return {
        "name": name,
        "sds_config": {
            "resource_api_version": "V3",
            "api_config_source": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": SPIRE_CLUSTER}}],
            },
        },
    }


def _validation(trust_bundle: str, *, exact_id: str | None = None) -> dict:
    # Any workload of the trust domain may connect in; outbound, only the callee is trusted.
    matcher = {"prefix": f"{trust_bundle}/"} if exact_id is None else {"exact": exact_id}
    return {
        "combined_validation_context": {
            "default_validation_context": {
                "match_typed_subject_alt_names": [{"san_type": "URI", "matcher": matcher}]
            },
            "validation_context_sds_secret_config": _sds(trust_bundle),
        }
    }


def _downstream_tls(own_id: str, trust_bundle: str, *, require_client_certificate: bool) -> dict:
    common_context = {
        "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
        "tls_certificate_sds_secret_configs": [_sds(own_id)],
    }
    if require_client_certificate:
        common_context.update(_validation(trust_bundle))
    return {
        "name": TLS_TRANSPORT,
        "typed_config": {
            "@type": DOWNSTREAM_TLS,
            "require_client_certificate": require_client_certificate,
            "common_tls_context": common_context,
        },
    }


def _outbound_listener(upstream: Upstream) -> dict:
    connection_manager = {
        "@type": common.HTTP_CONNECTION_MANAGER,
        "stat_prefix": f"egress_{upstream.name}",
        "codec_type": "AUTO",
        "access_log": common.access_log(None),
        "route_config": {
            "name": f"egress_{upstream.name}",
            "virtual_hosts": [
                {
                    "name": upstream.name,
                    "domains": ["*"],
                    "routes": [
                        {
                            "match": {"prefix": "/"},
                            "route": {"cluster": _upstream_cluster_name(upstream)},
                        }
                    ],
                }
            ],
        },
        "http_filters": [common.router_filter()],
    }
    return {
        "name": f"egress_{upstream.name}",
        "address": common.socket_address("127.0.0.1", upstream.local_port),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": connection_manager,
                    }
                ]
            }
        ],
    }


def _upstream_cluster_name(upstream: Upstream) -> str:
    return f"upstream_{upstream.name}"


def _upstream_cluster(upstream: Upstream, own_id: str, trust_bundle: str) -> dict:
    name = _upstream_cluster_name(upstream)
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": common.socket_address(upstream.host, upstream.port)
                            }
                        }
                    ]
                }
            ],
        },
        "transport_socket": {
            "name": TLS_TRANSPORT,
            "typed_config": {
                "@type": UPSTREAM_TLS,
                "sni": upstream.host,
                "common_tls_context": {
                    "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                    "tls_certificate_sds_secret_configs": [_sds(own_id)],
                    **_validation(trust_bundle, exact_id=upstream.spiffe_id),
                },
            },
        },
    }


def _spire_cluster() -> dict:
    return {
        "name": SPIRE_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": common.http2_protocol_options(),
        "load_assignment": {
            "cluster_name": SPIRE_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": {"pipe": {"path": SPIRE_SOCKET}}}}]}
            ],
        },
    }


def _set_http_stat_prefix(listener: dict, prefix: str) -> None:
    for chain in listener["filter_chains"]:
        for network_filter in chain["filters"]:
            network_filter["typed_config"]["stat_prefix"] = prefix
