"""The Kubernetes layer on its own: sidecars, agent, collector, policies and scaling."""

from dataclasses import replace

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls
import pytest
import yaml
from cell_harness import (
    BUNDLE_BUCKET,
    CELL,
    PUBLIC_KEY_PEM,
    SERVICE_NAMES,
    STACK,
    TELEMETRY,
    bundle,
    run_workloads,
    workloads_args,
)

from components.errors import ConfigError
from components.kubernetes.args import DatabaseConnection, IngressExposure
from components.kubernetes.workloads import CellWorkloads
from offline import UNKNOWN, ProgramFailed, run_program

SIDECARS = ["envoy", "policy-agent", "otel-collector"]
EXT_AUTHZ = "envoy.filters.http.ext_authz"


def _full_args():
    return workloads_args(
        database=DatabaseConnection(
            host="db.internal",
            port=5432,
            database_name="app",
            username="app",
            password=pulumi.Output.secret("not-a-real-password"),
            cidrs=["10.1.200.0/24"],
        ),
        ingress=IngressExposure(
            service_type="NodePort", source_cidrs=["198.51.100.0/24"], node_port=30443
        ),
    )


@pytest.fixture(scope="module", params=[True, False], ids=["preview", "update"])
def recording(request):
    return run_workloads(preview=request.param, make_args=_full_args)


def _of_type(recording, type_):
    return recording.of_type(type_)


def _named(recording, type_, metadata_name):
    (record,) = [
        r for r in recording.of_type(type_) if r.inputs["metadata"]["name"] == metadata_name
    ]
    return record


def _deployments(recording):
    return {
        r.inputs["metadata"]["name"]: r for r in recording.of_type("kubernetes:apps/v1:Deployment")
    }


def _envoy(recording, service):
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", f"{service}-envoy")
    return yaml.safe_load(config_map.inputs["data"]["envoy.yaml"])


def _listener(bootstrap, name):
    (listener,) = [
        item for item in bootstrap["static_resources"]["listeners"] if item["name"] == name
    ]
    return listener


def _cluster(bootstrap, name):
    (cluster,) = [
        item for item in bootstrap["static_resources"]["clusters"] if item["name"] == name
    ]
    return cluster


def _http_filters(listener):
    return listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]


def test_workloads_type_token_and_parents(recording):
    (component,) = recording.of_type("cellarch:index:CellWorkloads")
    children = recording.descendants(component.urn)
    # Namespace, 2 shared ConfigMaps, 2 namespace policies, the database Secret, the ingress
    # Service, and 7 objects for each of the 3 services.
    assert len(children) == 7 + 3 * 7
    for child in children:
        assert child.parent == component.urn
    assert component.output_registrations == 1


def test_workloads_use_the_given_provider(recording):
    (provider,) = recording.of_type("pulumi:providers:kubernetes")
    custom = [r for r in recording.resources if r.custom and not r.is_provider]
    assert len(custom) == 28
    for record in custom:
        assert record.provider_urn == provider.urn, record.name


def test_workloads_without_a_provider_are_rejected():
    def program():
        CellWorkloads("cell-1-workloads", workloads_args())

    with pytest.raises(ProgramFailed) as failure:
        run_program(program, stack=STACK, preview=True)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == "opts.provider"
    types = [r.type for r in failure.value.recording.resources]
    assert types == ["pulumi:pulumi:Stack"]


def test_every_deployment_runs_the_three_sidecars(recording):
    deployments = _deployments(recording)
    assert sorted(deployments) == sorted(SERVICE_NAMES)
    for name, deployment in deployments.items():
        containers = deployment.inputs["spec"]["template"]["spec"]["containers"]
        assert [c["name"] for c in containers] == [name, *SIDECARS]


def test_pods_run_on_the_data_plane_pool(recording):
    for deployment in _deployments(recording).values():
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"cellarch.io/plane": "data"}
        assert pod["tolerations"] == [
            {
                "key": "cellarch.io/plane",
                "operator": "Equal",
                "value": "data",
                "effect": "NoSchedule",
            }
        ]


def test_pods_run_unprivileged(recording):
    for deployment in _deployments(recording).values():
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}


def test_sidecar_authorizes_through_the_pods_agent_and_fails_closed(recording):
    for service in SERVICE_NAMES:
        bootstrap = _envoy(recording, service)
        mesh = _listener(bootstrap, "ingress")
        (authz,) = [f for f in _http_filters(mesh) if f["name"] == EXT_AUTHZ]
        config = authz["typed_config"]
        assert config["failure_mode_allow"] is False
        assert config["grpc_service"]["envoy_grpc"] == {"cluster_name": "policy_agent"}
        agent = _cluster(bootstrap, "policy_agent")
        endpoint = agent["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        assert endpoint["address"] == {
            "socket_address": {"address": "127.0.0.1", "port_value": 9191}
        }


def test_mesh_listener_requires_spiffe_client_certificates(recording):
    bootstrap = _envoy(recording, "ledger")
    mesh = _listener(bootstrap, "ingress")
    assert mesh["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 8443}
    tls = mesh["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["require_client_certificate"] is True
    context = tls["common_tls_context"]
    (certificate,) = context["tls_certificate_sds_secret_configs"]
    assert certificate["name"] == "spiffe://us-east-1.cellarch/ns/cell-cell-1/sa/ledger"
    validation = context["combined_validation_context"]
    assert validation["validation_context_sds_secret_config"]["name"] == (
        "spiffe://us-east-1.cellarch"
    )
    spire = _cluster(bootstrap, "spire_agent")
    endpoint = spire["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"] == {"pipe": {"path": "/spiffe-workload-api/spire-agent.sock"}}


def test_only_the_public_service_has_an_edge_listener(recording):
    orders = _envoy(recording, "orders")
    edge = _listener(orders, "edge")
    assert edge["address"]["socket_address"]["port_value"] == 8080
    assert _http_filters(edge)[0]["name"] == EXT_AUTHZ
    tls = edge["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["require_client_certificate"] is False
    for service in ("ledger", "audit"):
        names = [
            item["name"] for item in _envoy(recording, service)["static_resources"]["listeners"]
        ]
        assert "edge" not in names


def test_callers_reach_callees_through_mtls_on_loopback(recording):
    orders = _envoy(recording, "orders")
    outbound = _listener(orders, "egress_ledger")
    assert outbound["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 15001}
    upstream = _cluster(orders, "upstream_ledger")
    tls = upstream["transport_socket"]["typed_config"]["common_tls_context"]
    matchers = tls["combined_validation_context"]["default_validation_context"][
        "match_typed_subject_alt_names"
    ]
    assert matchers == [
        {
            "san_type": "URI",
            "matcher": {"exact": "spiffe://us-east-1.cellarch/ns/cell-cell-1/sa/ledger"},
        }
    ]
    app = _deployments(recording)["orders"].inputs["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "UPSTREAM_LEDGER_URL", "value": "http://127.0.0.1:15001"} in app["env"]


def test_agent_verifies_bundles_with_the_deployed_key(recording):
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", "policy-agent")
    config = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    bundle = config["bundles"]["authz"]
    assert bundle["signing"] == {"keyid": "authz-es256"}
    assert config["keys"]["authz-es256"] == {"key": PUBLIC_KEY_PEM, "algorithm": "ES256"}
    assert bundle["resource"] == "bundles/authz/current/bundle.tar.gz"
    service = config["services"][bundle["service"]]
    assert service["url"] == f"https://{BUNDLE_BUCKET}.s3.us-east-1.amazonaws.com"
    assert "web_identity_credentials" in service["credentials"]["s3_signing"]
    assert config["plugins"]["envoy_ext_authz_wasm"]["addr"] == "127.0.0.1:9191"


def test_agent_persists_bundles_on_a_volume(recording):
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", "policy-agent")
    config = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    assert config["bundles"]["authz"]["persist"] is True
    for deployment in _deployments(recording).values():
        pod = deployment.inputs["spec"]["template"]["spec"]
        (agent,) = [c for c in pod["containers"] if c["name"] == "policy-agent"]
        (mount,) = [m for m in agent["volumeMounts"] if m["name"] == "agent-bundles"]
        assert mount["mountPath"] == config["persistence_directory"]
        assert mount.get("readOnly", False) is False
        (volume,) = [v for v in pod["volumes"] if v["name"] == "agent-bundles"]
        assert volume["emptyDir"] == {"sizeLimit": "64Mi"}


def test_agent_runs_without_telemetry(recording):
    deployment = _deployments(recording)["ledger"]
    containers = deployment.inputs["spec"]["template"]["spec"]["containers"]
    (agent,) = [c for c in containers if c["name"] == "policy-agent"]
    assert agent["image"] == "policy-agent:0.1.0"
    assert "--disable-telemetry" in agent["args"]
    assert agent["args"][-2:] == ["--config-file", "/etc/policy-agent/config.yaml"]
    assert agent["readinessProbe"]["httpGet"]["path"] == "/health?bundles=true"


def test_collector_is_bounded(recording):
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", "otel-collector")
    config = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    assert config["processors"]["memory_limiter"]["limit_mib"] == 100
    exporter = config["exporters"]["otlp"]
    assert exporter["endpoint"] == TELEMETRY
    assert exporter["sending_queue"] == {"enabled": True, "num_consumers": 2, "queue_size": 1000}
    assert exporter["retry_on_failure"]["max_elapsed_time"] == "300s"
    for pipeline in config["service"]["pipelines"].values():
        assert pipeline["processors"][0] == "memory_limiter"
    deployment = _deployments(recording)["audit"]
    containers = deployment.inputs["spec"]["template"]["spec"]["containers"]
    (collector,) = [c for c in containers if c["name"] == "otel-collector"]
    assert collector["resources"]["limits"] == {"memory": "128Mi"}
    assert {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://127.0.0.1:4317"} in containers[
        0
    ]["env"]


def test_default_deny_selects_every_pod(recording):
    policy = _named(recording, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny")
    assert policy.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_service_policies_allow_only_declared_callers(recording):
    ledger = _named(recording, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "ledger")
    (rule,) = ledger.inputs["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8443}]
    assert rule["from"] == [
        {
            "podSelector": {
                "matchExpressions": [
                    {"key": "app.kubernetes.io/name", "operator": "In", "values": ["orders"]}
                ]
            }
        }
    ]
    audit = _named(recording, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "audit")
    assert "ingress" not in audit.inputs["spec"]
    assert audit.inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_public_service_admits_the_ingress_ranges_on_the_edge_port(recording):
    orders = _named(recording, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "orders")
    (rule,) = orders.inputs["spec"]["ingress"]
    assert rule["from"] == [{"ipBlock": {"cidr": "198.51.100.0/24"}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_database_egress_only_for_services_that_use_it(recording):
    def database_rules(name):
        policy = _named(recording, "kubernetes:networking.k8s.io/v1:NetworkPolicy", name)
        return [
            rule
            for rule in policy.inputs["spec"]["egress"]
            if rule.get("ports") == [{"protocol": "TCP", "port": 5432}]
        ]

    assert database_rules("ledger") == [
        {
            "to": [{"ipBlock": {"cidr": "10.1.200.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    ]
    assert database_rules("audit") == []


def test_disruption_budgets_and_autoscalers(recording):
    for name in SERVICE_NAMES:
        budget = _named(recording, "kubernetes:policy/v1:PodDisruptionBudget", name)
        assert budget.inputs["spec"]["maxUnavailable"] == 1
        assert budget.inputs["spec"]["selector"] == {
            "matchLabels": {"app.kubernetes.io/name": name}
        }
        scaler = _named(recording, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", name)
        spec = scaler.inputs["spec"]
        assert spec["minReplicas"] == 3
        assert spec["maxReplicas"] == 10
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        (metric,) = spec["metrics"]
        assert metric["containerResource"]["container"] == name


def test_namespace_enforces_restricted_pod_security(recording):
    (namespace,) = recording.of_type("kubernetes:core/v1:Namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == "cell-cell-1"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["cellarch.io/plane"] == "data"
    assert labels["cellarch.io/cell"] == "cell-1"
    assert labels["cellarch.io/region"] == "us-east-1"


def test_database_credentials_reach_only_services_that_use_them(recording):
    (secret,) = recording.of_type("kubernetes:core/v1:Secret")
    assert "stringData" in secret.secret_inputs
    assert secret.inputs["stringData"]["port"] == "5432"
    for name, deployment in _deployments(recording).items():
        app = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
        variables = {item["name"] for item in app["env"]}
        assert ("PGPASSWORD" in variables) is (name != "audit"), name


def test_without_database_there_is_no_secret():
    recording = run_workloads(preview=True)
    assert recording.of_type("kubernetes:core/v1:Secret") == []
    assert len(recording.of_type("kubernetes:apps/v1:Deployment")) == 3


def test_config_change_rolls_the_pods():
    first = run_workloads(preview=False)
    second = run_workloads(
        preview=False,
        make_args=lambda: workloads_args(telemetry_endpoint="other.example:4317"),
    )

    def digests(recording):
        return {
            name: d.inputs["spec"]["template"]["metadata"]["annotations"][
                "cellarch.io/config-sha256"
            ]
            for name, d in _deployments(recording).items()
        }

    assert len(digests(first)["ledger"]) == 64
    for name in SERVICE_NAMES:
        assert digests(first)[name] != digests(second)[name]


def _run_with_output_key(preview: bool):
    """Run the workloads with the bundle key and bucket as outputs of other resources."""

    def program():
        signing = tls.PrivateKey(
            "bundle-signing",
            algorithm="ECDSA",
            ecdsa_curve="P256",
            opts=pulumi.ResourceOptions(provider=tls.Provider("tls")),
        )
        bucket = signing.id.apply(lambda _: BUNDLE_BUCKET)
        args = workloads_args(
            bundle=replace(bundle("aws"), bucket=bucket, public_key_pem=signing.public_key_pem)
        )
        CellWorkloads(
            f"{CELL}-workloads",
            args,
            pulumi.ResourceOptions(provider=k8s.Provider("any-cluster", kubeconfig="{}")),
        )

    return run_program(program, stack=STACK, preview=preview)


def test_agent_config_takes_the_key_once_known():
    recording = _run_with_output_key(preview=False)
    (key,) = recording.of_type("tls:index/privateKey:PrivateKey")
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", "policy-agent")
    config = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    assert config["keys"]["authz-es256"]["key"] == key.outputs["publicKeyPem"]
    assert config["keys"]["authz-es256"]["key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_agent_config_is_unknown_while_the_key_is():
    recording = _run_with_output_key(preview=True)
    config_map = _named(recording, "kubernetes:core/v1:ConfigMap", "policy-agent")
    assert config_map.inputs["data"]["config.yaml"] == UNKNOWN
    deployment = _deployments(recording)["ledger"]
    containers = deployment.inputs["spec"]["template"]["spec"]["containers"]
    (agent,) = [c for c in containers if c["name"] == "policy-agent"]
    assert agent["args"] == UNKNOWN
