"""Values the Kubernetes API server fills in for the objects the components create."""

from typing import Any

from offline.ids import auto_name, hex_id, public_ip, uuid_id

Computed = dict[str, Any]

CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
}


def compute(
    type_: str, urn: str, name: str, inputs: dict, cloud: str = "aws"
) -> tuple[str, Computed]:
    """Return the ID (`namespace/name` or `name`) and the object as the API server returns it.

    `cloud` is where the cluster runs, which decides how a load balancer is addressed: AWS
    gives a host name, Google Cloud an IP address.
    """
    kind = type_.rsplit(":", 1)[1]
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", auto_name(name, urn, 63))
    if kind not in CLUSTER_SCOPED_KINDS:
        metadata.setdefault("namespace", "default")
    metadata.update(
        {
            "uid": uuid_id(urn),
            "resourceVersion": str(int(hex_id(urn, 6), 16)),
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
        }
    )
    computed: Computed = {"metadata": metadata}
    if kind == "Service":
        computed["status"] = _service_status(urn, inputs, cloud)
        spec = dict(inputs.get("spec") or {})
        spec.setdefault(
            "clusterIP",
            f"172.20.{int(hex_id(urn, 2), 16)}.{int(hex_id(urn + 'ip', 2), 16) % 254 + 1}",
        )
        computed["spec"] = spec
    elif kind == "Deployment":
        replicas = (inputs.get("spec") or {}).get("replicas", 1)
        computed["status"] = {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }
    object_id = (
        metadata["name"]
        if kind in CLUSTER_SCOPED_KINDS
        else f"{metadata['namespace']}/{metadata['name']}"
    )
    return object_id, computed


def _service_status(urn: str, inputs: dict, cloud: str) -> dict:
    if (inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return {"loadBalancer": {}}
    if cloud == "gcp":
        return {"loadBalancer": {"ingress": [{"ip": public_ip(urn)}]}}
    return {"loadBalancer": {"ingress": [{"hostname": f"a{hex_id(urn, 31)}.elb.amazonaws.com"}]}}
