"""ObservabilityStack: a bounded collector gateway, Prometheus per stack, four dashboards."""

import json

import pytest
import yaml
from program_harness import STACK_MODES, known, provider_named, run_stack

from offline import UNKNOWN

PROMETHEUS_OF_STACK = {
    "aws-us-east-1": ("aws:amp/workspace:Workspace", "https://aps-workspaces.us-east-1."),
    "aws-eu-west-1": (
        "kubernetes:apps/v1:StatefulSet",
        "http://prometheus.observability.svc:9090/api/v1/query",
    ),
    "gcp-europe-west1": (
        "gcp:serviceaccount/account:Account",
        "https://monitoring.googleapis.com/v1/projects/cellarch-europe/",
    ),
}


@pytest.fixture(scope="module", params=STACK_MODES)
def run(request):
    stack, preview = request.param
    return stack, preview, run_stack(stack, preview)


def _stack(recording):
    (component,) = recording.of_type("cellarch:index:ObservabilityStack")
    return component, recording.children(component.urn)


def _named(children, name, package="kubernetes"):
    (found,) = [r for r in children if r.name == name and r.package == package]
    return found


def test_children_are_parented_to_the_stack(run):
    _, _, recording = run
    component, children = _stack(recording)
    assert recording.descendants(component.urn) == children
    assert len(children) >= 12
    assert component.output_registrations == 1


def test_kubernetes_objects_run_on_the_control_plane_cluster(run):
    _, _, recording = run
    _, children = _stack(recording)
    control = provider_named(recording, "kubernetes", "control-kubernetes")
    objects = [r for r in children if r.package == "kubernetes"]
    assert len(objects) >= 10
    for record in objects:
        assert record.provider_urn == control.urn, record.name


def test_gateway_stays_off_data_plane_nodes(run):
    _, _, recording = run
    _, children = _stack(recording)
    gateway = _named(children, "observability-gateway")
    spec = gateway.inputs["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"cellarch.io/plane": "control"}
    assert "tolerations" not in spec
    (container,) = spec["containers"]
    assert container["resources"]["limits"] == {"memory": "512Mi"}


def test_gateway_config_limits_batches_queues_and_retries(run):
    _, preview, recording = run
    _, children = _stack(recording)
    config_map = _named(children, "observability-gateway-config")
    text = config_map.inputs["data"]["config.yaml"]
    if preview and text == UNKNOWN:
        # The remote-write URL of a managed Prometheus is computed by the cloud.
        assert recording.stack == "aws-us-east-1"
        return
    config = yaml.safe_load(known(text, "gateway config"))
    assert config["processors"]["memory_limiter"] == {
        "check_interval": "1s",
        "limit_percentage": 80,
        "spike_limit_percentage": 20,
    }
    assert config["processors"]["batch"]["send_batch_max_size"] == 16384
    for name, pipeline in config["service"]["pipelines"].items():
        assert pipeline["processors"] == ["memory_limiter", "batch"], name
    exporters = config["exporters"]
    assert exporters
    for name, exporter in exporters.items():
        queue = exporter.get("sending_queue") or exporter.get("remote_write_queue")
        assert queue["enabled"] is True, name
        assert queue["queue_size"] == 5000, name
        assert exporter["retry_on_failure"]["enabled"] is True, name
        assert exporter["retry_on_failure"]["max_elapsed_time"] == "300s", name


def test_prometheus_of_each_stack(run):
    stack, preview, recording = run
    _, children = _stack(recording)
    backend_type, url_prefix = PROMETHEUS_OF_STACK[stack]
    assert len([r for r in children if r.type == backend_type]) == 1
    url = recording.stack_outputs()["prometheusQueryUrl"]
    if preview and stack == "aws-us-east-1":
        assert url == UNKNOWN
        return
    assert known(url, "prometheusQueryUrl").startswith(url_prefix)


def test_dashboards_for_the_four_planes(run):
    _, _, recording = run
    _, children = _stack(recording)
    dashboards = {
        r.name.removeprefix("observability-dashboard-"): r
        for r in children
        if r.name.startswith("observability-dashboard-")
    }
    assert sorted(dashboards) == ["control", "data", "governance", "observability"]
    for plane, config_map in dashboards.items():
        (document,) = config_map.inputs["data"].values()
        dashboard = json.loads(document)
        assert plane in dashboard["title"].lower(), plane
        assert dashboard["panels"], plane
        assert config_map.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
