"""I9 Asynchronous telemetry, on collectors and exporters that could block a workload."""

from crossguard_harness import Pod, bounded_collector, kube_provider, run_pack

LOCAL_EXPORT = [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://127.0.0.1:4317"}]


def test_compliant_pod_passes():
    pod = Pod(env=LOCAL_EXPORT, collector=bounded_collector())

    report = run_pack(lambda: pod.create(kube_provider()))

    assert report.details("i09-collector-bounded") == []
    assert report.details("i09-export-to-local-collector") == []


def test_collector_without_limits_on_kubernetes():
    collector = bounded_collector(sending_queue={"enabled": False})
    collector["processors"] = {"batch": {}}
    collector["service"]["pipelines"]["traces"]["processors"] = ["batch"]

    report = run_pack(lambda: Pod(env=LOCAL_EXPORT, collector=collector).create(kube_provider()))

    assert report.details("i09-collector-bounded") == [
        "ConfigMap orders-config (collector.yaml): exporter otlp has no sending queue, so a "
        "slow backend blocks the pipeline",
        "ConfigMap orders-config (collector.yaml): no memory_limiter processor with a limit",
        "ConfigMap orders-config (collector.yaml): pipeline traces does not start with "
        "memory_limiter",
    ]


def test_queue_maximum_from_pack_config():
    pod = Pod(env=LOCAL_EXPORT, collector=bounded_collector())

    report = run_pack(
        lambda: pod.create(kube_provider()),
        pack_config={"i09-collector-bounded": {"maxQueueSize": 500}},
    )

    assert report.details("i09-collector-bounded") == [
        "ConfigMap orders-config (collector.yaml): exporter otlp queues 1000 batches, above the "
        "maximum of 500"
    ]


def test_export_to_remote_collector_on_kubernetes():
    remote = [
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.observability:4317"}
    ]

    report = run_pack(lambda: Pod(env=remote).create(kube_provider()))

    assert report.details("i09-export-to-local-collector") == [
        "Deployment orders: container app exports telemetry to "
        "http://collector.observability:4317, not to a collector on loopback or its node"
    ]


def test_collector_without_memory_limit_on_kubernetes():
    pod = Pod(env=LOCAL_EXPORT, collector=bounded_collector(), collector_memory_limit=None)

    report = run_pack(lambda: pod.create(kube_provider()))

    assert report.details("i09-export-to-local-collector") == [
        "Deployment orders: collector container collector has no memory limit"
    ]
