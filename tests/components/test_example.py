"""The example program in examples/aws-two-cells, which the component guide walks through."""

import runpy

import pytest

from offline import UNKNOWN, run_program
from offline.stack_config import ROOT, load_stack_config

EXAMPLE = ROOT / "examples" / "aws-two-cells"


@pytest.fixture(scope="module", params=[True, False], ids=["preview", "update"])
def recording(request):
    return run_program(
        lambda: runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__"),
        stack="dev",
        project="aws-two-cells",
        config=load_stack_config("dev", EXAMPLE),
        preview=request.param,
    )


def test_example_declares_two_cells(recording):
    cells = sorted(r.name for r in recording.of_type("cellarch:index:Cell"))
    assert cells == ["shop-a", "shop-b"]
    assert recording.stack_outputs()["rolloutWaves"] == [["shop-a"], ["shop-b"]]


def test_example_uses_its_own_providers(recording):
    (london,) = recording.of_type("pulumi:providers:aws")
    assert london.name == "london"
    assert london.inputs["region"] == "eu-west-2"
    for record in recording.resources:
        if record.custom and not record.is_provider:
            assert "::default::" not in record.provider, f"{record.type} {record.name}"
            if record.package == "aws":
                assert record.provider_urn == london.urn, record.name


def test_example_outputs(recording):
    outputs = recording.stack_outputs()
    assert outputs["prometheusQueryUrl"] == "http://prometheus.observability.svc:9090/api/v1/query"
    if recording.preview:
        assert outputs["routerAddress"] == UNKNOWN
        return
    assert outputs["routerAddress"].endswith(".elb.eu-west-2.amazonaws.com")
    assert outputs["bundleBucket"].startswith("governance-bundles-")


def test_example_component_counts(recording):
    for type_, count in (
        ("cellarch:index:GovernancePlane", 1),
        ("cellarch:index:Region", 1),
        ("cellarch:index:ObservabilityStack", 1),
        ("kubernetes:apps/v1:Deployment", 2 * 2 + 2),
        ("aws:eks/cluster:Cluster", 3),
    ):
        assert len(recording.of_type(type_)) == count, type_


def test_readme_shows_example_program():
    readme = (ROOT / "README.md").read_text()
    marker = "<!-- example program: examples/aws-two-cells/__main__.py -->\n```python\n"
    start = readme.index(marker) + len(marker)
    shown = readme[start : readme.index("```\n", start)]
    source = (EXAMPLE / "__main__.py").read_text()

    assert source.endswith(shown)
    assert shown.startswith("import pulumi\n")
