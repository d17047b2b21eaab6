"""I5 Last known good, on agents that would lose their last bundle."""

from crossguard_harness import Agent, Pod, kube_provider, run_pack


def test_compliant_pod_passes():
    report = run_pack(lambda: Pod().create(kube_provider()))

    assert report.details("i05-agent-persists-bundles") == []
    assert report.details("i05-persistence-on-volume") == []
    assert report.details("i05-persistence-survives-pod") == []


def test_agent_not_persisting_on_kubernetes():
    agent = Agent(persist=False, persistence_directory=None)

    report = run_pack(lambda: Pod(agent=agent).create(kube_provider()))

    assert report.details("i05-agent-persists-bundles") == [
        "ConfigMap orders-config (agent.yaml): bundle authz does not set persist: true",
        "ConfigMap orders-config (agent.yaml): persistence_directory is not set",
    ]


def test_persistence_directory_on_no_volume_on_kubernetes():
    report = run_pack(lambda: Pod(persistence_volume=None).create(kube_provider()))

    assert report.details("i05-persistence-on-volume") == [
        "Deployment orders: agent policy-agent persists bundles in /var/opa, which is on no "
        "volume, so a restart of the container loses them"
    ]


def test_persistence_on_empty_dir_is_advisory_on_kubernetes():
    report = run_pack(lambda: Pod(persistence_volume={"emptyDir": {}}).create(kube_provider()))

    assert report.details("i05-persistence-survives-pod") == [
        "Deployment orders: agent policy-agent persists bundles on emptyDir volume bundles, which "
        "a new pod starts without; until the repository is reachable again such a pod denies "
        "every request"
    ]
    assert [d.level.value for d in report.of_policy("i05-persistence-survives-pod")] == ["advisory"]
    assert report.mandatory_count == 0
