"""Where the gateway sends metrics and traces: managed Prometheus per cloud, or in-cluster.

Each function creates the backend and the identity the gateway's service account uses to
write to it, and returns what the gateway's configuration and service account need.
"""

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE = "observability"
GATEWAY_SERVICE_ACCOUNT = "otel-gateway"
PROMETHEUS_PORT = 9090


@dataclass(frozen=True)
class Backend:
    kind: str
    """`amp`, `gmp` or `in-cluster`, as `GatewaySpec.backend` takes it."""
    remote_write_url: pulumi.Input[str] | None
    query_url: pulumi.Input[str]
    """Where Grafana or a person queries the metrics."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)


def amazon_managed_prometheus(
    name: str,
    region: str,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> Backend:
    """Create an AMP workspace and an IRSA role that may remote-write to it and to X-Ray."""
    import pulumi_aws as aws

    workspace = aws.amp.Workspace(
        f"{name}-prometheus", alias=f"{name}-prometheus", tags=labels, opts=opts
    )
    subject = f"system:serviceaccount:{NAMESPACE}:{GATEWAY_SERVICE_ACCOUNT}"
    role = aws.iam.Role(
        f"{name}-gateway-role",
        description="Lets the region's collector gateway write metrics and traces",
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
            lambda values: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": values[0]},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    f"{values[1]}:aud": "sts.amazonaws.com",
                                    f"{values[1]}:sub": subject,
                                }
                            },
                        }
                    ],
                }
            )
        ),
        tags=labels,
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-gateway-write",
        role=role.id,
        policy=workspace.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["aps:RemoteWrite"], "Resource": arn},
                        {
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            "Resource": "*",
                        },
                    ],
                }
            )
        ),
        opts=opts,
    )
    return Backend(
        kind="amp",
        remote_write_url=workspace.prometheus_endpoint.apply(
            lambda url: f"{url}api/v1/remote_write"
        ),
        query_url=workspace.prometheus_endpoint.apply(lambda url: f"{url}api/v1/query"),
        service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
    )


def google_managed_prometheus(
    name: str,
    project: str,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> Backend:
    """Create a Google service account that writes metrics and traces, bound to the gateway."""
    import pulumi_gcp as gcp

    account = gcp.serviceaccount.Account(
        f"{name}-gateway",
        account_id=f"{name}-otel-gateway"[:30].rstrip("-"),
        project=project,
        display_name="Collector gateway of the region",
        # Service accounts take no labels, so the description carries them (I11).
        description=" ".join(f"{key}={value}" for key, value in sorted(labels.items())),
        opts=opts,
    )
    for role in ("roles/monitoring.metricWriter", "roles/cloudtrace.agent"):
        gcp.projects.IAMMember(
            f"{name}-gateway-{role.split('/')[1].replace('.', '-').lower()}",
            project=project,
            role=role,
            member=account.member,
            opts=opts,
        )
    gcp.serviceaccount.IAMMember(
        f"{name}-gateway-workload-identity",
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{project}.svc.id.goog[{NAMESPACE}/{GATEWAY_SERVICE_ACCOUNT}]",
        opts=opts,
    )
    return Backend(
        kind="gmp",
        remote_write_url=None,
        query_url=f"https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus",
        service_account_annotations={"iam.gke.io/gcp-service-account": account.email},
    )


def in_cluster_prometheus(
    name: str,
    retention_days: int,
    storage_gb: int,
    k8s_labels: dict[str, str],
    scheduling: dict,
    opts: pulumi.ResourceOptions,
) -> Backend:
    """Run Prometheus as a StatefulSet that receives remote writes from the gateway."""
    selector = {"app.kubernetes.io/name": "prometheus"}
    labels = {**k8s_labels, **selector}
    k8s.apps.v1.StatefulSet(
        f"{name}-prometheus",
        metadata={"name": "prometheus", "namespace": NAMESPACE, "labels": labels},
        spec={
            "service_name": "prometheus",
            # NOTE: one replica, because the gateway writes to one Service; the managed
            # backends are the highly available choice.
            "replicas": 1,
            "selector": {"match_labels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    **scheduling,
                    "security_context": {
                        "run_as_non_root": True,
                        "run_as_user": 65534,
                        "fs_group": 65534,
                    },
                    "containers": [
                        {
                            "name": "prometheus",
                            "image": "quay.io/prometheus/prometheus:v3.5.0",
                            "args": [
                                "--config.file=/dev/null",
                                "--storage.tsdb.path=/prometheus",
                                f"--storage.tsdb.retention.time={retention_days}d",
                                "--web.enable-remote-write-receiver",
                            ],
                            "ports": [{"name": "http", "container_port": PROMETHEUS_PORT}],
                            "readiness_probe": {
                                "http_get": {"path": "/-/ready", "port": PROMETHEUS_PORT}
                            },
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "2Gi"},
                                "limits": {"memory": "4Gi"},
                            },
                            "volume_mounts": [{"name": "data", "mount_path": "/prometheus"}],
                        }
                    ],
                },
            },
            "volume_claim_templates": [
                {
                    "metadata": {"name": "data", "labels": labels},
                    "spec": {
                        "access_modes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{storage_gb}Gi"}},
                    },
                }
            ],
        },
        opts=opts,
    )
    k8s.core.v1.Service(
        f"{name}-prometheus-service",
        metadata={"name": "prometheus", "namespace": NAMESPACE, "labels": labels},
        spec={"selector": selector, "ports": [{"name": "http", "port": PROMETHEUS_PORT}]},
        opts=opts,
    )
    base = f"http://prometheus.{NAMESPACE}.svc:{PROMETHEUS_PORT}"
    return Backend(
        kind="in-cluster", remote_write_url=f"{base}/api/v1/write", query_url=f"{base}/api/v1/query"
    )
