"""NetworkPolicies of a cell namespace: deny everything, then allow what each service needs.

`default-deny` selects every pod of the namespace for ingress and egress with no rule, so
any traffic that no other policy allows is dropped. `allow-dns` lets every pod resolve
names. Each service then gets one policy that allows:
- ingress to its mesh port from the services that call it, and to its edge port from the
  ingress ranges when it is public (nothing reaches the service's own port: I3);
- egress to the mesh ports of the services it calls and to the database;
- egress over HTTPS outside the private ranges, for the agent's bundle downloads and the
  cloud's token exchange, and to the port of the region's collector gateway;
- on GKE, egress to the metadata server, which serves workload identity tokens.
"""

from components.kubernetes.args import ServiceSpec
from components.kubernetes.pod import APP_NAME_LABEL
from components.kubernetes.ports import EDGE_PORT, MESH_PORT

POSTGRES_PORT = 5432
HTTPS_PORT = 443
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]
# The GKE metadata server: the link-local address and, with Dataplane V2, port 988.
GKE_METADATA = [("169.254.169.254/32", 80), ("169.254.169.252/32", 988)]


def default_deny_spec() -> dict:
    return {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]}


def allow_dns_spec() -> dict:
    return {
        "pod_selector": {},
        "policy_types": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespace_selector": {
                            "match_labels": {"kubernetes.io/metadata.name": "kube-system"}
                        },
                        "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ],
    }


def service_policy_spec(
    service: ServiceSpec,
    services: list[ServiceSpec],
    *,
    ingress_cidrs: list[str],
    database_cidrs: list[str],
    telemetry_port: int,
    gke_metadata: bool,
) -> dict:
    """Return the spec of the policy that allows one service's traffic."""
    callers = sorted(other.name for other in services if service.name in other.calls)
    ingress = []
    if callers:
        ingress.append(
            {
                "from": [{"pod_selector": _selector(callers)}],
                "ports": [{"protocol": "TCP", "port": MESH_PORT}],
            }
        )
    if service.public and ingress_cidrs:
        ingress.append(
            {
                "from": [{"ip_block": {"cidr": cidr}} for cidr in ingress_cidrs],
                "ports": [{"protocol": "TCP", "port": EDGE_PORT}],
            }
        )

    egress = []
    if service.calls:
        egress.append(
            {
                "to": [{"pod_selector": _selector(sorted(service.calls))}],
                "ports": [{"protocol": "TCP", "port": MESH_PORT}],
            }
        )
    if service.uses_database and database_cidrs:
        egress.append(
            {
                "to": [{"ip_block": {"cidr": cidr}} for cidr in database_cidrs],
                "ports": [{"protocol": "TCP", "port": POSTGRES_PORT}],
            }
        )
    egress.append(
        {
            "to": [{"ip_block": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
            "ports": [{"protocol": "TCP", "port": HTTPS_PORT}],
        }
    )
    egress.append({"ports": [{"protocol": "TCP", "port": telemetry_port}]})
    if gke_metadata:
        for cidr, port in GKE_METADATA:
            egress.append(
                {"to": [{"ip_block": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": port}]}
            )

    spec = {
        "pod_selector": {"match_labels": {APP_NAME_LABEL: service.name}},
        "policy_types": ["Ingress", "Egress"],
        "egress": egress,
    }
    if ingress:
        spec["ingress"] = ingress
    return spec


def _selector(names: list[str]) -> dict:
    return {"match_expressions": [{"key": APP_NAME_LABEL, "operator": "In", "values": names}]}
