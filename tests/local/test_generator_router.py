"""The router bootstrap: one ring of all cells, keyed by the user id."""

import pytest

from components.sidecar import RouterCell, RouterSpec, SpecError, router_bootstrap


def make_spec(cell_count: int = 3, **overrides) -> RouterSpec:
    fields = {
        "region": "local",
        "cells": tuple(
            RouterCell(f"cell-{i}", "127.0.0.1", 10001 + 10 * i) for i in range(cell_count)
        ),
        "listen_port": 18000,
        "admin_port": 18001,
    }
    fields.update(overrides)
    return RouterSpec(**fields)


def cells_cluster(config: dict) -> dict:
    return config["static_resources"]["clusters"][0]


def route(config: dict) -> dict:
    listener = config["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"][0]


def test_one_cluster_holds_every_cell():
    cluster = cells_cluster(router_bootstrap(make_spec(5)))
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]

    assert [e["endpoint"]["hostname"] for e in endpoints] == [f"cell-{i}" for i in range(5)]
    assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [
        10001,
        10011,
        10021,
        10031,
        10041,
    ]


def test_ring_hash_on_user_id_header():
    config = router_bootstrap(make_spec())

    assert cells_cluster(config)["lb_policy"] == "RING_HASH"
    assert route(config)["route"]["hash_policy"] == [{"header": {"header_name": "x-user-id"}}]


def test_ring_is_keyed_by_cell_name():
    cluster = cells_cluster(router_bootstrap(make_spec(2)))
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]

    assert [e["metadata"]["filter_metadata"]["envoy.lb"]["hash_key"] for e in endpoints] == [
        "cell-0",
        "cell-1",
    ]


def test_active_health_check_on_healthz():
    check = cells_cluster(router_bootstrap(make_spec()))["health_checks"][0]

    assert check == {
        "timeout": "1.000s",
        "interval": "2.000s",
        "no_traffic_interval": "2.000s",
        "unhealthy_threshold": 2,
        "healthy_threshold": 1,
        "http_health_check": {"path": "/healthz"},
    }


def test_outlier_detection_ejects_after_5xx():
    outlier = cells_cluster(router_bootstrap(make_spec(consecutive_5xx=3)))["outlier_detection"]

    assert outlier == {
        "consecutive_5xx": 3,
        "interval": "5s",
        "base_ejection_time": "30.000s",
        "max_ejection_percent": 50,
    }


def test_only_connect_failures_are_retried():
    policy = route(router_bootstrap(make_spec()))["route"]["retry_policy"]

    assert policy["retry_on"] == "connect-failure"
    assert policy["num_retries"] == 1


def test_request_checks_run_before_routing():
    listener = router_bootstrap(make_spec(max_path_bytes=2048))["static_resources"]["listeners"][0]
    filters = listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    code = filters[0]["typed_config"]["default_source_code"]["inline_string"]

    assert [f["name"] for f in filters] == ["envoy.filters.http.lua", "envoy.filters.http.router"]
    assert 'local header = "x-user-id"' in code
    assert 'local max_path_bytes = tonumber("2048")' in code


def test_listener_and_admin_on_loopback():
    config = router_bootstrap(make_spec())
    listener = config["static_resources"]["listeners"][0]

    assert listener["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 18000}
    assert config["admin"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": 18001,
    }


def test_dns_cell_hosts_use_strict_dns():
    cells = (RouterCell("cell-0", "cell-0.cells.svc.cluster.local", 8080),)

    assert cells_cluster(router_bootstrap(make_spec(cells=cells)))["type"] == "STRICT_DNS"


def test_ip_cell_hosts_use_static():
    assert cells_cluster(router_bootstrap(make_spec()))["type"] == "STATIC"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cells": ()}, "RouterSpec.cells: invalid value (); expected a non-empty list"),
        (
            {"cells": (RouterCell("a", "127.0.0.1", 1), RouterCell("a", "127.0.0.1", 2))},
            "RouterSpec.cells: invalid value ['a']; expected unique cell names",
        ),
        ({"cells": ("cell-0",)}, "RouterSpec.cells: invalid value 'cell-0'; expected RouterCell"),
        ({"admin_port": 18000}, "RouterSpec.admin_port: invalid value 18000; expected a port"),
        ({"hash_header": "X-User"}, "RouterSpec.hash_header: invalid value 'X-User'"),
        ({"health_check_path": "healthz"}, "RouterSpec.health_check_path: invalid value"),
        (
            {"health_check_timeout_ms": 5000},
            "RouterSpec.health_check_timeout_ms: invalid value 5000; expected an integer from "
            "10 to 2000 (ms, at most the interval)",
        ),
        ({"max_ejection_percent": 101}, "RouterSpec.max_ejection_percent: invalid value 101"),
        (
            {"max_path_bytes": 10},
            "RouterSpec.max_path_bytes: invalid value 10; expected an integer from 64 to 32768",
        ),
    ],
)
def test_invalid_router_field_is_rejected(overrides, message):
    with pytest.raises(SpecError) as error:
        make_spec(**overrides)

    assert str(error.value).startswith(message)


def test_invalid_router_cell_is_rejected():
    with pytest.raises(SpecError) as error:
        RouterCell("cell-0", "127.0.0.1", 0)

    assert str(error.value).startswith("RouterCell.port: invalid value 0")
