"""Argument classes of the Kubernetes layer of a cell.

Plain dataclasses with type annotations that Pulumi's component analyzer reads, so the
fields document themselves in a generated schema. `validate()` checks every field before
any resource exists and raises `ConfigError` with one line naming the field.
"""

import ipaddress
import re
from dataclasses import dataclass, field

import pulumi

from components.errors import ConfigError
from components.kubernetes import ports
from components.telemetry.trust import TelemetryTLSArgs, endpoint_host

DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")
_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]{1,255}$")
_QUANTITY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|k|M|G)?$")
REPOSITORY_KINDS = ("s3", "gcs")
PEM_PUBLIC_KEY_HEADER = "-----BEGIN PUBLIC KEY-----"

# Images a platform team pins; the policy agent image is built from agent/ of this project.
DEFAULT_ENVOY_IMAGE = "envoyproxy/envoy:v1.40.0"
DEFAULT_AGENT_IMAGE = "policy-agent:0.1.0"
DEFAULT_COLLECTOR_IMAGE = "otel/opentelemetry-collector:0.115.0"


@dataclass
class ServiceSpec:
    """One service of a cell: its container, its scaling and whom it calls."""

    name: str
    """DNS label; names the Deployment, Service and service account."""
    image: str
    """Container image of the service, pinned by tag or digest."""
    port: int
    """Port the service listens on inside the pod; only its sidecar reaches it."""
    min_replicas: int | None = 3
    """Lower bound of the autoscaler; at least 2 in production so a disruption keeps one."""
    max_replicas: int | None = 10
    calls: list[str] | None = field(default_factory=list)
    """Services of the same cell this service calls, through its sidecar with mTLS."""
    public: bool | None = False
    """Whether the cell's ingress sends user traffic to this service."""
    uses_database: bool | None = True
    """Whether the service gets the cell database's credentials and a route to it."""
    cpu: str | None = "250m"
    """CPU request of the service container."""
    memory: str | None = "256Mi"
    """Memory request and limit of the service container."""
    health_path: str | None = "/healthz"
    """HTTP path of the service's readiness and liveness probes."""
    target_cpu_utilization: int | None = 70
    """Average CPU utilization of the service container, in percent, the autoscaler aims for."""

    def validate(self, where: str) -> None:
        _check_dns_label(f"{where}.name", self.name)
        if not isinstance(self.image, str) or not _IMAGE.match(self.image):
            raise ConfigError(f"{where}.image", self.image, "a container image reference")
        tag_pinned = ":" in self.image.rsplit("/", 1)[-1] and not self.image.endswith(":latest")
        if not tag_pinned and "@" not in self.image:
            raise ConfigError(
                f"{where}.image",
                self.image,
                "an image pinned by a digest or a tag other than latest",
            )
        _check_int(f"{where}.port", self.port, 1, 65535)
        if self.port in ports.RESERVED_PORTS:
            raise ConfigError(f"{where}.port", self.port, ports.RESERVED_PORTS_TEXT)
        if len(self.calls) > ports.UPSTREAM_MAX_COUNT:
            raise ConfigError(
                f"{where}.calls", self.calls, f"at most {ports.UPSTREAM_MAX_COUNT} services"
            )
        _check_int(f"{where}.min_replicas", self.min_replicas, 1, 1000)
        _check_int(f"{where}.max_replicas", self.max_replicas, self.min_replicas, 1000)
        if not isinstance(self.calls, list):
            raise ConfigError(f"{where}.calls", self.calls, "a list of service names")
        for index, callee in enumerate(self.calls):
            _check_dns_label(f"{where}.calls[{index}]", callee)
        for quantity_field in ("cpu", "memory"):
            value = getattr(self, quantity_field)
            if not isinstance(value, str) or not _QUANTITY.match(value):
                raise ConfigError(
                    f"{where}.{quantity_field}", value, "a Kubernetes quantity such as 250m"
                )
        if not isinstance(self.health_path, str) or not self.health_path.startswith("/"):
            raise ConfigError(f"{where}.health_path", self.health_path, "a path starting with /")
        _check_int(f"{where}.target_cpu_utilization", self.target_cpu_utilization, 10, 100)


@dataclass
class BundleSource:
    """Source of the signed policy bundle and the key that verifies its signature."""

    name: str
    """Bundle name; the object key is `bundles/<name>/current/bundle.tar.gz`."""
    repository: str
    """`s3`, read with IRSA web identity credentials, or `gcs`, read with GKE workload
    identity through the metadata server."""
    bucket: pulumi.Input[str]
    """Bucket of the bundle repository."""
    public_key_pem: pulumi.Input[str]
    """PEM public key the agents verify bundle signatures with (I4). An Output, such as the
    governance plane's key, is checked when its value is known."""
    key_id: str
    """Key id the bundle's signature names."""
    aws_region: str | None = None
    """Region of the S3 bucket; required for `s3`."""
    bucket_key_id: pulumi.Input[str] | None = None
    """KMS key of an S3 bucket encrypted with a customer key, which readers must use."""
    polling_min_seconds: int | None = 10
    polling_max_seconds: int | None = 20

    def validate(self, where: str) -> None:
        if not isinstance(self.name, str) or not re.match(r"^[a-z0-9][a-z0-9._-]*$", self.name):
            raise ConfigError(f"{where}.name", self.name, "lower-case letters, digits, . _ -")
        if self.repository not in REPOSITORY_KINDS:
            raise ConfigError(f"{where}.repository", self.repository, "s3 or gcs")
        if self.repository == "s3" and not self.aws_region:
            raise ConfigError(
                f"{where}.aws_region", self.aws_region, "the AWS region of the S3 bucket"
            )
        if not isinstance(self.bucket, str | pulumi.Output) or self.bucket == "":
            raise ConfigError(f"{where}.bucket", self.bucket, "a bucket name")
        key = self.public_key_pem
        if not isinstance(key, pulumi.Output) and (
            not isinstance(key, str) or not key.strip().startswith(PEM_PUBLIC_KEY_HEADER)
        ):
            raise ConfigError(
                f"{where}.public_key_pem",
                str(key)[:40],
                f"a PEM public key starting {PEM_PUBLIC_KEY_HEADER}",
            )
        if not isinstance(self.key_id, str) or not re.match(
            r"^[A-Za-z0-9._-]{1,128}$", self.key_id
        ):
            raise ConfigError(f"{where}.key_id", self.key_id, "letters, digits, . _ -")
        _check_int(f"{where}.polling_min_seconds", self.polling_min_seconds, 1, 3600)
        _check_int(
            f"{where}.polling_max_seconds", self.polling_max_seconds, self.polling_min_seconds, 3600
        )


@dataclass
class DatabaseConnection:
    """The cell database as the services see it; the password stays a secret output."""

    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    cidrs: list[str]
    """Address ranges of the database endpoint, the target of the services' egress."""


@dataclass
class IngressExposure:
    """Exposure of the cell's public service to the cell's ingress."""

    service_type: str
    """`NodePort` (AWS, behind an instance-target load balancer) or `LoadBalancer` (GCP)."""
    source_cidrs: list[str]
    """Ranges allowed to reach the public service's edge port (router and load balancer)."""
    port: int | None = 443
    """Port of the ingress Service; the load balancer's port for `LoadBalancer`."""
    node_port: int | None = None
    load_balancer_ip: pulumi.Input[str] | None = None
    annotations: dict[str, str] | None = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if self.service_type not in ("NodePort", "LoadBalancer"):
            raise ConfigError(
                f"{where}.service_type", self.service_type, "NodePort or LoadBalancer"
            )
        if self.service_type == "NodePort":
            _check_int(f"{where}.node_port", self.node_port, 30000, 32767)
        _check_int(f"{where}.port", self.port, 1, 65535)
        _check_cidrs(f"{where}.source_cidrs", self.source_cidrs)


@dataclass
class CellWorkloadsArgs:
    """The Kubernetes layer of one cell, usable against any cluster.

    The Kubernetes provider comes through the resource options (`provider=` or
    `providers=`); the component rejects options without one rather than fall back to the
    ambient kubeconfig.
    """

    cell: str
    region: str
    jurisdiction: str
    """Data jurisdiction of the cell (`eu`, `us`), which the policy receives per request."""
    services: list[ServiceSpec]
    bundle: BundleSource
    telemetry_endpoint: str
    """OTLP/gRPC `host:port` of the region's collector gateway, where the pod collectors send."""
    stack: str = ""
    """Stack name for the `stack` label; empty takes the current Pulumi stack."""
    namespace: str | None = None
    """Namespace of the cell; defaults to `cell-<cell>`."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations that give the agents' service accounts their cloud identity."""
    database: DatabaseConnection | None = None
    ingress: IngressExposure | None = None
    trust_domain: str | None = None
    """SPIFFE trust domain of the workload identities; defaults to `<region>.cellarch`."""
    telemetry_insecure: bool = False
    """Send to the collector gateway without TLS, for a gateway inside the cluster. The policy
    rule i08-telemetry-mtls reports it for any endpoint outside loopback."""
    telemetry_tls: TelemetryTLSArgs | None = None
    """The cell's client certificate and the gateway's authority, for mutual TLS to the
    gateway. None verifies the gateway against the system roots and sends no certificate,
    which the policy rule i08-telemetry-mtls reports."""
    production: bool = True
    """Production cells need at least two replicas per service."""
    envoy_image: str = DEFAULT_ENVOY_IMAGE
    agent_image: str = DEFAULT_AGENT_IMAGE
    collector_image: str = DEFAULT_COLLECTOR_IMAGE

    def validate(self) -> None:
        _check_dns_label("cell", self.cell)
        _check_dns_label("region", self.region)
        if not isinstance(self.jurisdiction, str) or not re.match(
            r"^[a-z]{2,12}$", self.jurisdiction
        ):
            raise ConfigError("jurisdiction", self.jurisdiction, "2 to 12 lower-case letters")
        if self.namespace is not None:
            _check_dns_label("namespace", self.namespace)

        self._validate_services()

        if not isinstance(self.bundle, BundleSource):
            raise ConfigError("bundle", self.bundle, "a BundleSource")
        self.bundle.validate("bundle")
        endpoint_host(self.telemetry_endpoint)
        if self.trust_domain is not None and not _TRUST_DOMAIN.match(self.trust_domain):
            raise ConfigError("trust_domain", self.trust_domain, "a SPIFFE trust domain name")

        if self.ingress is not None:
            self.ingress.validate("ingress")
            public = [service.name for service in self.services if service.public]
            if len(public) != 1:
                raise ConfigError(
                    "services.public",
                    public,
                    "exactly one public service, which the ingress sends traffic to",
                )
        if self.database is not None:
            _check_cidrs("database.cidrs", self.database.cidrs)
        if self.telemetry_tls is not None:
            if not isinstance(self.telemetry_tls, TelemetryTLSArgs):
                raise ConfigError(
                    "telemetry_tls", type(self.telemetry_tls).__name__, "a TelemetryTLSArgs"
                )
            if self.telemetry_insecure:
                raise ConfigError(
                    "telemetry_insecure",
                    True,
                    "False when telemetry_tls is set, since mutual TLS needs TLS",
                )
            self.telemetry_tls.validate("telemetry_tls")

        for image_field in ("envoy_image", "agent_image", "collector_image"):
            value = getattr(self, image_field)
            if not isinstance(value, str) or not _IMAGE.match(value):
                raise ConfigError(image_field, value, "a container image reference")

    def _validate_services(self) -> None:
        if not isinstance(self.services, list) or not self.services:
            raise ConfigError("services", self.services, "a non-empty list of ServiceSpec")
        names = []
        for index, service in enumerate(self.services):
            if not isinstance(service, ServiceSpec):
                raise ConfigError(f"services[{index}]", service, "a ServiceSpec")
            service.validate(f"services[{index}]")
            if service.name in names:
                raise ConfigError(f"services[{index}].name", service.name, "a unique service name")
            if self.production and service.min_replicas < 2:
                raise ConfigError(
                    f"services[{index}].min_replicas",
                    service.min_replicas,
                    "at least 2 in production, so a disruption budget keeps one running",
                )
            names.append(service.name)

        for index, service in enumerate(self.services):
            for callee in service.calls:
                if callee not in names or callee == service.name:
                    raise ConfigError(
                        f"services[{index}].calls",
                        callee,
                        f"another service of this cell: {', '.join(names)}",
                    )

    @property
    def namespace_name(self) -> str:
        return self.namespace or f"cell-{self.cell}"

    @property
    def trust_domain_name(self) -> str:
        return self.trust_domain or f"{self.region}.cellarch"


def _check_dns_label(key: str, value: object) -> None:
    if not isinstance(value, str) or not DNS_LABEL.match(value):
        raise ConfigError(key, value, "a DNS label: lower-case letters, digits and -, at most 63")


def _check_int(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"an integer from {low} to {high}")


def _check_cidrs(key: str, value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, value, "a non-empty list of CIDR ranges")
    for cidr in value:
        try:
            ipaddress.ip_network(cidr)
        except (TypeError, ValueError):
            raise ConfigError(key, cidr, "a CIDR range such as 10.0.0.0/16") from None
