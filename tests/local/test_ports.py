"""Port plans: fixed offsets from a base port, or free ports, checked before any start."""

import socket
from pathlib import Path

import pytest

from localregion.errors import LocalRegionError, PortInUseError
from localregion.ports import (
    EPHEMERAL_RANGE_FILE,
    LOWEST_FREE_PORT,
    CellPorts,
    check_ports_free,
    free_ports,
    plan_ports,
)


def test_base_port_plan_uses_fixed_offsets():
    plan = plan_ports(2, 18000)

    assert (plan.router, plan.router_admin, plan.repository) == (18000, 18001, 18002)
    assert plan.cells == (
        CellPorts(18010, 18011, 18012, 18013, 18014, 18015),
        CellPorts(18020, 18021, 18022, 18023, 18024, 18025),
    )


def test_free_port_plan_has_no_duplicates():
    plan = plan_ports(5, 0)
    ports = plan.by_component(["a", "b", "c", "d", "e"])

    assert len(ports) == 3 + 6 * 5
    assert len(set(ports.values())) == len(ports)


def test_components_are_named_by_cell():
    ports = plan_ports(2, 18000).by_component(["eu-1", "us-1"])

    assert ports["router"] == 18000
    assert ports["bundle repository"] == 18002
    assert ports["us-1 agent authz"] == 18025


@pytest.mark.parametrize("base_port", [80, 65530])
def test_base_port_out_of_range_is_rejected(base_port):
    with pytest.raises(LocalRegionError) as error:
        plan_ports(3, base_port)

    assert str(error.value).startswith(f"invalid --base-port {base_port}: 3 cells need ports up")


def test_taken_port_names_port_and_component():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]

        with pytest.raises(PortInUseError) as error:
            check_ports_free({"router": plan_ports(2, 0).router, "us-1 sidecar": taken})

    assert error.value.port == taken
    assert error.value.component == "us-1 sidecar"
    assert str(error.value) == (
        f"port {taken} for us-1 sidecar is already in use; stop what uses it, "
        "or choose another --base-port (0 picks free ports)"
    )


def test_free_ports_avoid_ephemeral_range():
    low, _high = (int(value) for value in Path(EPHEMERAL_RANGE_FILE).read_text().split())

    ports = free_ports(20)

    assert len(set(ports)) == 20
    assert all(LOWEST_FREE_PORT <= port < low for port in ports)
