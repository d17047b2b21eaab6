"""I8 Zero trust, on sidecars without mTLS and Services that skip the sidecar."""

from crossguard_harness import (
    APP_PORT,
    Pod,
    Sidecar,
    kube_provider,
    run_pack,
    static_cluster,
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
