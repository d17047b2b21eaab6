"""I2 No synchronous cross-plane call, on pods whose sidecar calls an agent elsewhere."""

from crossguard_harness import Agent, Pod, Sidecar, kube_provider, run_pack


def test_compliant_pod_passes():
    report = run_pack(lambda: Pod().create(kube_provider()))

    assert report.details("i02-authz-target-local") == []
    assert report.details("i02-authz-agent-in-pod") == []


def test_authorization_call_leaving_pod_on_kubernetes():
    report = run_pack(lambda: Pod(sidecar=Sidecar(authz_host="10.0.0.5")).create(kube_provider()))

    assert report.details("i02-authz-target-local") == [
        "ConfigMap orders-config (envoy.yaml): listener inbound sends its authorization call to "
        "10.0.0.5:9191, which leaves the pod; use loopback or a Unix socket"
    ]


def test_authorization_call_to_control_plane_service_on_kubernetes():
    sidecar = Sidecar(authz_host="opa.governance.svc.cluster.local")

    report = run_pack(lambda: Pod(sidecar=sidecar).create(kube_provider()))

    assert report.details("i02-authz-target-local") == [
        "ConfigMap orders-config (envoy.yaml): listener inbound sends its authorization call to "
        "opa.governance.svc.cluster.local:9191, which leaves the pod; use loopback or a Unix "
        "socket"
    ]


def test_no_agent_listening_in_pod_on_kubernetes():
    report = run_pack(lambda: Pod(agent=Agent(address="127.0.0.1:9292")).create(kube_provider()))

    assert report.details("i02-authz-agent-in-pod") == [
        "Deployment orders: sidecar envoy listener inbound authorizes against 127.0.0.1:9191, "
        "but no policy agent in the pod listens there"
    ]
