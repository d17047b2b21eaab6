"""I7 Bounded blast radius, on Cell and Region components that declare too much."""

import pulumi
import pytest
from crossguard_harness import aws_provider, gcp_provider, run_pack

PROVIDERS = {"aws": aws_provider, "gcp": gcp_provider}


class Stand(pulumi.ComponentResource):
    """Stands in for a component of the library, with the outputs the rules read."""

    def __init__(self, type_token: str, name: str, outputs: dict, opts=None) -> None:
        super().__init__(type_token, name, None, opts)
        self.register_outputs(outputs)


def _region(waves: list[list[str]], canary: str, users: int = 10_000, cloud: str = "aws") -> None:
    """A Region of three Cells on `cloud`; the rules read only the components' outputs."""
    region = Stand(
        "cellarch:index:Region",
        "region",
        {"canary": canary, "rollout_waves": waves},
        pulumi.ResourceOptions(providers=[PROVIDERS[cloud]()]),
    )
    for name in ("cell-1", "cell-2", "cell-3"):
        Stand("cellarch:index:Cell", name, {"users": users}, pulumi.ResourceOptions(parent=region))


def test_compliant_region_passes():
    report = run_pack(lambda: _region([["cell-1"], ["cell-2", "cell-3"]], "cell-1"))

    assert report.details("i07-cell-size-capped") == []
    assert report.details("i07-rollout-in-waves") == []


@pytest.mark.parametrize("cloud", PROVIDERS)
def test_cell_above_cap(cloud):
    report = run_pack(
        lambda: _region([["cell-1"], ["cell-2", "cell-3"]], "cell-1", users=50_000, cloud=cloud)
    )

    assert report.details("i07-cell-size-capped") == [
        f"Cell {name}: sized for 50000 users, above the cap of 20000; add a cell instead"
        for name in ("cell-1", "cell-2", "cell-3")
    ]


def test_cell_cap_from_pack_config():
    report = run_pack(
        lambda: _region([["cell-1"], ["cell-2", "cell-3"]], "cell-1"),
        pack_config={"i07-cell-size-capped": {"maxCellUsers": 5000}},
    )

    assert len(report.details("i07-cell-size-capped")) == 3


@pytest.mark.parametrize("cloud", PROVIDERS)
def test_rollout_without_canary_first(cloud):
    report = run_pack(lambda: _region([["cell-2", "cell-1"], ["cell-3"]], "cell-1", cloud=cloud))

    assert report.details("i07-rollout-in-waves") == [
        "Region region: the first wave is ['cell-2', 'cell-1'], not the canary cell 'cell-1' alone"
    ]


def test_rollout_missing_a_cell_and_wave_too_large():
    report = run_pack(
        lambda: _region([["cell-1"], ["cell-2", "cell-2"]], "cell-1"),
        pack_config={"i07-rollout-in-waves": {"maxWaveSize": 1}},
    )

    assert report.details("i07-rollout-in-waves") == [
        "Region region: cell cell-2 is in more than one wave",
        "Region region: cell cell-3 is in no wave",
        "Region region: wave 1 holds 2 cells, above the maximum of 1",
    ]
