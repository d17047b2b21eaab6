"""I8 Zero trust, on sidecars without mTLS and Services that skip the sidecar."""

import pulumi
import pulumi_gcp as gcp
from crossguard_harness import (
    APP_PORT,
    Pod,
    Sidecar,
    bounded_collector,
    gcp_provider,
    kube_provider,
    run_pack,
    static_cluster,
    tags,
    tls_context,
)


def test_compliant_pod_passes():
    upstream = static_cluster("ledger", "ledger.cell", 8443, tls_context(server=False))

    report = run_pack(lambda: Pod(sidecar=Sidecar(upstreams=[upstream])).create(kube_provider()))

    assert report.details("i08-mesh-mtls") == []
    assert report.details("i08-requests-pass-sidecar") == []


def test_listener_without_spiffe_check_on_kubernetes():
    report = run_pack(lambda: Pod(sidecar=Sidecar(listener_spiffe=False)).create(kube_provider()))

    assert report.details("i08-mesh-mtls") == [
        "Deployment orders: sidecar envoy: listener inbound accepts client certificates without "
        "checking a SPIFFE ID"
    ]


def test_plain_text_listener_and_upstream_on_kubernetes():
    upstream = static_cluster("ledger", "ledger.cell", 8080)

    report = run_pack(
        lambda: Pod(sidecar=Sidecar(listener_tls=False, upstreams=[upstream])).create(
            kube_provider()
        )
    )

    assert report.details("i08-mesh-mtls") == [
        "Deployment orders: sidecar envoy: cluster ledger calls another workload without mTLS",
        "Deployment orders: sidecar envoy: listener inbound accepts connections without TLS",
    ]


def test_service_targeting_the_application_on_kubernetes():
    report = run_pack(lambda: Pod(service_target=APP_PORT).create(kube_provider()))

    assert report.details("i08-requests-pass-sidecar") == [
        "Deployment orders: Service orders-service port 443 targets 3000 (container app), not a "
        "listener of the sidecar, so its requests skip authorization"
    ]


def _router_calling_cell_ingress(tls: dict | None) -> None:
    """A pod whose Envoy forwards to a cell's external address, as the region's router does."""
    gcp.compute.Address(
        "cell-1-ingress",
        address="203.0.113.10",
        address_type="EXTERNAL",
        labels=tags("data", "cell-1", region="europe-west1"),
        opts=pulumi.ResourceOptions(provider=gcp_provider()),
    )
    upstream = static_cluster("cells", "203.0.113.10", 443, tls)
    Pod(sidecar=Sidecar(upstreams=[upstream])).create(kube_provider())


def test_call_to_cell_ingress_without_tls_on_kubernetes():
    report = run_pack(lambda: _router_calling_cell_ingress(None))

    assert report.details("i08-mesh-mtls") == [
        "Deployment orders: sidecar envoy: cluster cells calls cell ingress without TLS"
    ]


def test_call_to_cell_ingress_over_tls_passes():
    server_verified = tls_context(server=False)
    del server_verified["typed_config"]["common_tls_context"]["tls_certificates"]

    report = run_pack(lambda: _router_calling_cell_ingress(server_verified))

    assert report.details("i08-mesh-mtls") == []


CLIENT_TLS = {
    "ca_file": "/etc/otelcol-tls/ca.crt",
    "cert_file": "/etc/otelcol-tls/tls.crt",
    "key_file": "/etc/otelcol-tls/tls.key",
}


def test_collector_with_mutual_tls_passes():
    collector = bounded_collector(tls=CLIENT_TLS)
    collector["receivers"]["otlp"]["protocols"]["http"] = {
        "endpoint": "0.0.0.0:4318",
        "tls": {
            "cert_file": "/etc/otelcol-tls/tls.crt",
            "key_file": "/etc/otelcol-tls/tls.key",
            "client_ca_file": "/etc/otelcol-tls/ca.crt",
        },
    }

    report = run_pack(lambda: Pod(collector=collector).create(kube_provider()))

    assert report.details("i08-telemetry-mtls") == []


def test_telemetry_without_mutual_tls_on_kubernetes():
    collector = bounded_collector()
    exporters = collector["exporters"]
    exporters["otlp/insecure"] = {**exporters["otlp"], "tls": {"insecure": True}}
    exporters["otlp/unverified"] = {
        **exporters["otlp"],
        "tls": {**CLIENT_TLS, "insecure_skip_verify": True},
    }
    exporters["otlphttp"] = {"endpoint": "http://gateway.observability:4318"}
    exporters["otlp/local"] = {"endpoint": "127.0.0.1:4317"}
    collector["receivers"]["otlp"]["protocols"]["http"] = {"endpoint": "0.0.0.0:4318"}
    collector["receivers"]["otlp/server"] = {
        "protocols": {
            "grpc": {
                "endpoint": "0.0.0.0:4327",
                "tls": {"cert_file": "/tls/tls.crt", "key_file": "/tls/tls.key"},
            }
        }
    }

    report = run_pack(lambda: Pod(collector=collector).create(kube_provider()))

    prefix = "ConfigMap orders-config (collector.yaml): "
    assert report.details("i08-telemetry-mtls") == [
        prefix + "exporter otlp at gateway.observability:4317 presents no client certificate",
        prefix + "exporter otlp/insecure at gateway.observability:4317 sends without TLS",
        prefix + "exporter otlp/unverified at gateway.observability:4317 does not verify the "
        "server's certificate",
        prefix + "exporter otlphttp at http://gateway.observability:4318 sends without TLS",
        prefix + "receiver otlp/http at 0.0.0.0:4318 accepts OTLP without TLS",
        prefix + "receiver otlp/server/grpc at 0.0.0.0:4327 does not require client "
        "certificates (no client_ca_file)",
    ]


def test_renamed_and_per_signal_exporters_on_kubernetes():
    collector = bounded_collector(tls=CLIENT_TLS)
    exporters = collector["exporters"]
    exporters["otlp_grpc"] = {"endpoint": "gateway.observability:4317"}
    exporters["otlp_http"] = {"traces_endpoint": "HTTP://gateway.observability:4318/v1/traces"}
    exporters["otlp/quoted"] = {**exporters["otlp"], "tls": {**CLIENT_TLS, "insecure": "true"}}

    report = run_pack(lambda: Pod(collector=collector).create(kube_provider()))

    prefix = "ConfigMap orders-config (collector.yaml): "
    assert report.details("i08-telemetry-mtls") == [
        prefix + "exporter otlp/quoted at gateway.observability:4317 sends without TLS",
        prefix + "exporter otlp_grpc at gateway.observability:4317 presents no client certificate",
        prefix + "exporter otlp_http (traces_endpoint) at "
        "HTTP://gateway.observability:4318/v1/traces sends without TLS",
    ]
