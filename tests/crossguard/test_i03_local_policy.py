"""I3 Local, compiled policy, on pods whose sidecar fails open or whose agent runs Rego."""

from crossguard_harness import Agent, Pod, Sidecar, kube_provider, run_pack


def test_compliant_pod_passes():
    report = run_pack(lambda: Pod().create(kube_provider()))

    assert report.details("i03-sidecar-fails-closed") == []
    assert report.details("i03-agent-evaluates-wasm") == []
    assert report.details("i03-data-workload-behind-sidecar") == []


def test_sidecar_failing_open_on_kubernetes():
    report = run_pack(lambda: Pod(sidecar=Sidecar(failure_mode_allow=True)).create(kube_provider()))

    assert report.details("i03-sidecar-fails-closed") == [
        "ConfigMap orders-config (envoy.yaml): listener inbound sets failure_mode_allow: true "
        "(fails open)"
    ]
    assert report.details("i03-data-workload-behind-sidecar") == [
        "Deployment orders: sidecar envoy: listener inbound sets failure_mode_allow: true "
        "(fails open)"
    ]


def test_sidecar_without_ext_authz_on_kubernetes():
    report = run_pack(lambda: Pod(sidecar=Sidecar(ext_authz=False)).create(kube_provider()))

    assert report.details("i03-sidecar-fails-closed") == [
        "ConfigMap orders-config (envoy.yaml): listener inbound has no ext_authz filter"
    ]


def test_agent_evaluating_rego_on_kubernetes():
    report = run_pack(
        lambda: Pod(agent=Agent(plugin="envoy_ext_authz_grpc")).create(kube_provider())
    )

    assert report.details("i03-agent-evaluates-wasm") == [
        "ConfigMap orders-config (agent.yaml): plugin envoy_ext_authz_grpc evaluates Rego; use "
        "envoy_ext_authz_wasm, which evaluates the bundle's WebAssembly module"
    ]


def test_data_workload_without_sidecar_on_kubernetes():
    report = run_pack(lambda: Pod(sidecar=None, service_target=3000).create(kube_provider()))

    assert report.details("i03-data-workload-behind-sidecar") == [
        "Deployment orders: data-plane pods run no Envoy sidecar"
    ]


def test_data_workload_without_agent_on_kubernetes():
    report = run_pack(lambda: Pod(agent=None).create(kube_provider()))

    assert report.details("i03-data-workload-behind-sidecar") == [
        "Deployment orders: data-plane pods run no policy agent"
    ]
