"""Values Google Cloud computes for the components' resources, keyed as the engine keys them."""

import base64
from collections.abc import Callable
from typing import Any

from offline.ids import auto_name, hex_id, number_id, private_ip, public_ip, uuid_id

Computed = dict[str, Any]
COMPUTE_API = "https://www.googleapis.com/compute/v1"


class GcpContext:
    """The project and region a mock GCP resource lives in, taken from its provider."""

    def __init__(self, project: str, region: str, urn: str, name: str, inputs: dict) -> None:
        self.project = str(inputs.get("project") or project)
        self.region = region
        self.urn = urn
        self.name = name
        self.inputs = inputs

    @property
    def project_number(self) -> str:
        return number_id("project" + self.project, 12)

    def physical_name(self, key: str = "name", max_length: int = 63) -> str:
        given = self.inputs.get(key)
        return (
            given
            if isinstance(given, str) and given
            else auto_name(self.name, self.urn, max_length)
        )

    def location(self) -> str:
        return str(self.inputs.get("location") or self.inputs.get("region") or self.region)


def _global(collection: str) -> Callable:
    def compute(ctx: GcpContext) -> tuple[str, Computed]:
        name = ctx.physical_name()
        resource_id = f"projects/{ctx.project}/global/{collection}/{name}"
        return resource_id, {"name": name, "selfLink": f"{COMPUTE_API}/{resource_id}"}

    return compute


def _regional(collection: str) -> Callable:
    def compute(ctx: GcpContext) -> tuple[str, Computed]:
        name = ctx.physical_name()
        region = ctx.inputs.get("region") or ctx.region
        resource_id = f"projects/{ctx.project}/regions/{region}/{collection}/{name}"
        return resource_id, {
            "name": name,
            "region": region,
            "selfLink": f"{COMPUTE_API}/{resource_id}",
        }

    return compute


def _network(ctx: GcpContext) -> tuple[str, Computed]:
    resource_id, computed = _global("networks")(ctx)
    computed["numericId"] = number_id(ctx.urn, 19)
    return resource_id, computed


def _subnetwork(ctx: GcpContext) -> tuple[str, Computed]:
    resource_id, computed = _regional("subnetworks")(ctx)
    cidr = str(ctx.inputs.get("ipCidrRange", "10.0.0.0/24"))
    first = cidr.split("/")[0].rsplit(".", 1)
    computed["gatewayAddress"] = f"{first[0]}.{int(first[1]) + 1}"
    computed["subnetworkId"] = int(number_id(ctx.urn, 9))
    return resource_id, computed


def _address(global_: bool) -> Callable:
    def compute(ctx: GcpContext) -> tuple[str, Computed]:
        base = _global("addresses") if global_ else _regional("addresses")
        resource_id, computed = base(ctx)
        internal = (
            ctx.inputs.get("addressType") == "INTERNAL"
            or ctx.inputs.get("purpose") == "VPC_PEERING"
        )
        computed["address"] = ctx.inputs.get("address") or (
            private_ip(ctx.urn) if internal else public_ip(ctx.urn)
        )
        return resource_id, computed

    return compute


def _cluster(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    location = ctx.location()
    resource_id = f"projects/{ctx.project}/locations/{location}/clusters/{name}"
    ca = base64.b64encode(
        b"-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"
    ).decode()
    return resource_id, {
        "name": name,
        "location": location,
        "endpoint": public_ip(ctx.urn),
        "masterAuth": {
            "clusterCaCertificate": ca,
            "clientCertificateConfig": {"issueClientCertificate": False},
        },
        "masterVersion": str(ctx.inputs.get("minMasterVersion") or "1.33.2-gke.1000"),
        "selfLink": f"https://container.googleapis.com/v1/{resource_id}",
        "labelFingerprint": hex_id(ctx.urn, 8),
    }


def _node_pool(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    location = ctx.location()
    cluster = ctx.inputs.get("cluster", "cluster")
    group = f"gke-{str(cluster)[-20:]}-{name[:20]}-{hex_id(ctx.urn, 8)}-grp"
    return f"{ctx.project}/{location}/{cluster}/{name}", {
        "name": name,
        "location": location,
        "instanceGroupUrls": [
            f"{COMPUTE_API}/projects/{ctx.project}/zones/{location}-b/instanceGroupManagers/{group}"
        ],
        "managedInstanceGroupUrls": [
            f"{COMPUTE_API}/projects/{ctx.project}/zones/{location}-b/instanceGroups/{group}"
        ],
        "version": "1.33.2-gke.1000",
    }


def _sql_instance(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    region = ctx.inputs.get("region") or ctx.region
    address = private_ip(ctx.urn)
    return name, {
        "name": name,
        "connectionName": f"{ctx.project}:{region}:{name}",
        "privateIpAddress": address,
        "firstIpAddress": address,
        "ipAddresses": [{"ipAddress": address, "type": "PRIVATE"}],
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{ctx.project}/instances/{name}",
        "serviceAccountEmailAddress": (
            f"p{ctx.project_number}-{hex_id(ctx.urn, 6)}@gcp-sa-cloud-sql.iam.gserviceaccount.com"
        ),
        "dnsName": f"{hex_id(ctx.urn, 12)}.{region}.sql.goog.",
    }


def _sql_instance_with_psc(ctx: GcpContext) -> tuple[str, Computed]:
    resource_id, computed = _sql_instance(ctx)
    settings = ctx.inputs.get("settings") or {}
    ip_configuration = settings.get("ipConfiguration") or {}
    if ip_configuration.get("pscConfigs"):
        # Cloud SQL publishes a Private Service Connect attachment for each PSC instance.
        region = ctx.inputs.get("region") or ctx.region
        computed["pscServiceAttachmentLink"] = (
            f"projects/{ctx.project}/regions/{region}/serviceAttachments/a-{hex_id(ctx.urn, 12)}"
        )
    return resource_id, computed


# The Google-managed service agent of each API, as `service-<project number>@<domain>`.
_SERVICE_AGENT_DOMAINS = {
    "sqladmin.googleapis.com": "gcp-sa-cloud-sql.iam.gserviceaccount.com",
    "container.googleapis.com": "container-engine-robot.iam.gserviceaccount.com",
    "cloudkms.googleapis.com": "gcp-sa-cloudkms.iam.gserviceaccount.com",
    "pubsub.googleapis.com": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "storage.googleapis.com": "gs-project-accounts.iam.gserviceaccount.com",
    "compute.googleapis.com": "compute-system.iam.gserviceaccount.com",
}


def _service_identity(ctx: GcpContext) -> tuple[str, Computed]:
    service = str(ctx.inputs.get("service", ""))
    domain = _SERVICE_AGENT_DOMAINS.get(
        service, f"gcp-sa-{service.split('.')[0]}.iam.gserviceaccount.com"
    )
    email = f"service-{ctx.project_number}@{domain}"
    return f"projects/{ctx.project}/services/{service}", {
        "email": email,
        "member": f"serviceAccount:{email}",
    }


def _sql_child(kind: str) -> Callable:
    def compute(ctx: GcpContext) -> tuple[str, Computed]:
        name = ctx.physical_name()
        instance = ctx.inputs.get("instance", "instance")
        return f"projects/{ctx.project}/instances/{instance}/{kind}/{name}", {"name": name}

    return compute


def _key_ring(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    return f"projects/{ctx.project}/locations/{ctx.location()}/keyRings/{name}", {"name": name}


def _crypto_key(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    ring = ctx.inputs.get("keyRing", f"projects/{ctx.project}/locations/{ctx.region}/keyRings/ring")
    return f"{ring}/cryptoKeys/{name}", {
        "name": name,
        "primaries": [
            {"name": f"{ring}/cryptoKeys/{name}/cryptoKeyVersions/1", "state": "ENABLED"}
        ],
    }


def _service_account(ctx: GcpContext) -> tuple[str, Computed]:
    account = str(ctx.inputs.get("accountId") or auto_name(ctx.name, ctx.urn, 30))
    email = f"{account}@{ctx.project}.iam.gserviceaccount.com"
    name = f"projects/{ctx.project}/serviceAccounts/{email}"
    return name, {
        "email": email,
        "name": name,
        "uniqueId": number_id(ctx.urn, 21),
        "member": f"serviceAccount:{email}",
    }


def _iam_binding(ctx: GcpContext) -> tuple[str, Computed]:
    target = next(
        (
            str(ctx.inputs[key])
            for key in (
                "serviceAccountId",
                "bucket",
                "cryptoKeyId",
                "project",
                "topic",
                "subscription",
            )
            if key in ctx.inputs
        ),
        ctx.project,
    )
    role = ctx.inputs.get("role", "roles/viewer")
    member = ctx.inputs.get("member", "")
    return f"{target}/{role}/{member}", {"etag": "BwY" + hex_id(ctx.urn, 9)}


def _bucket(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    return name, {
        "name": name,
        "url": f"gs://{name}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
        "projectNumber": ctx.project_number,
        "location": str(ctx.inputs.get("location", ctx.region)).upper(),
    }


def _bucket_object(ctx: GcpContext) -> tuple[str, Computed]:
    bucket = ctx.inputs.get("bucket", "bucket")
    name = str(ctx.inputs.get("name", ctx.name))
    return f"{bucket}-{name}", {
        "outputName": name,
        "md5hash": base64.b64encode(bytes.fromhex(hex_id(ctx.urn, 32))).decode(),
        "generation": int(number_id(ctx.urn, 16)),
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name}?alt=media",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name}",
    }


def _pubsub(kind: str) -> Callable:
    def compute(ctx: GcpContext) -> tuple[str, Computed]:
        name = ctx.physical_name()
        return f"projects/{ctx.project}/{kind}/{name}", {"name": name}

    return compute


def _dashboard(ctx: GcpContext) -> tuple[str, Computed]:
    return f"projects/{ctx.project_number}/dashboards/{uuid_id(ctx.urn)}", {}


def _service(ctx: GcpContext) -> tuple[str, Computed]:
    return f"{ctx.project}/{ctx.inputs.get('service', ctx.name)}", {}


def _generic(ctx: GcpContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    return f"projects/{ctx.project}/{ctx.name}/{name}", {"name": name}


COMPUTERS: dict[str, Callable[[GcpContext], tuple[str, Computed]]] = {
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _regional("routers/nat"),
    "gcp:compute/firewall:Firewall": _global("firewalls"),
    "gcp:compute/globalAddress:GlobalAddress": _address(True),
    "gcp:compute/address:Address": _address(False),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _global("forwardingRules"),
    "gcp:compute/forwardingRule:ForwardingRule": _regional("forwardingRules"),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _global("targetHttpsProxies"),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _global("targetHttpProxies"),
    "gcp:compute/urlMap:URLMap": _global("urlMaps"),
    "gcp:compute/backendService:BackendService": _global("backendServices"),
    "gcp:compute/healthCheck:HealthCheck": _global("healthChecks"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": _global("sslCertificates"),
    "gcp:compute/securityPolicy:SecurityPolicy": _global("securityPolicies"),
    "gcp:compute/globalNetworkEndpointGroup:GlobalNetworkEndpointGroup": _global(
        "networkEndpointGroups"
    ),
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance_with_psc,
    "gcp:sql/database:Database": _sql_child("databases"),
    "gcp:sql/user:User": _sql_child("users"),
    "gcp:servicenetworking/connection:Connection": _service,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketObject:BucketObject": _bucket_object,
    "gcp:pubsub/topic:Topic": _pubsub("topics"),
    "gcp:pubsub/subscription:Subscription": _pubsub("subscriptions"),
    "gcp:monitoring/dashboard:Dashboard": _dashboard,
    "gcp:projects/service:Service": _service,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
}


def compute(type_: str, ctx: GcpContext) -> tuple[str, Computed]:
    """Return the physical ID and the computed outputs of a GCP resource."""
    if type_.endswith("IAMMember") or type_.endswith("IAMBinding"):
        resource_id, computed = _iam_binding(ctx)
    else:
        resource_id, computed = COMPUTERS.get(type_, _generic)(ctx)
    labels = ctx.inputs.get("labels") or ctx.inputs.get("resourceLabels")
    if isinstance(labels, dict):
        # The provider adds its own label, and reports all of them as effective labels.
        effective = {**labels, "goog-pulumi-provisioned": "true"}
        computed.setdefault("effectiveLabels", effective)
        computed.setdefault("pulumiLabels", effective)
        computed.setdefault("terraformLabels", effective)
    computed.setdefault("project", ctx.project)
    return resource_id, computed
