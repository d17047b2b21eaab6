"""I4 Signed policy, on agents that would activate a bundle without checking its signature."""

from crossguard_harness import Agent, Pod, kube_provider, run_pack


def test_compliant_pod_passes():
    report = run_pack(lambda: Pod().create(kube_provider()))

    assert report.details("i04-bundles-signed") == []


def test_bundle_without_signing_key_on_kubernetes():
    report = run_pack(lambda: Pod(agent=Agent(signing=False)).create(kube_provider()))

    assert report.details("i04-bundles-signed") == [
        "ConfigMap orders-config (agent.yaml): bundle authz has no signing.keyid, so OPA skips "
        "verification"
    ]


def test_agent_skipping_verification_on_kubernetes():
    report = run_pack(lambda: Pod(agent_args=["--skip-verify"]).create(kube_provider()))

    assert report.details("i04-bundles-signed") == [
        "Deployment orders: container policy-agent runs with --skip-verify, which activates "
        "bundles without checking signatures"
    ]
