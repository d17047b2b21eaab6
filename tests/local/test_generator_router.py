"""The router bootstrap: one cluster and one route per cell, picked by the user id."""

import pytest

from components.sidecar import RouterCell, RouterSpec, SpecError, router_bootstrap
from components.sidecar.cell_assignment import fnv1a32


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


def clusters(config: dict) -> dict[str, dict]:
    return {cluster["name"]: cluster for cluster in config["static_resources"]["clusters"]}


def routes(config: dict) -> list[dict]:
    listener = config["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"]


def connection_manager(config: dict) -> dict:
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_one_cluster_per_cell():
    config = router_bootstrap(make_spec(3))
    by_name = clusters(config)

    assert list(by_name) == ["cell-cell-0", "cell-cell-1", "cell-cell-2", "cells"]
    for index in range(3):
        endpoints = by_name[f"cell-cell-{index}"]["load_assignment"]["endpoints"]
        assert endpoints == [
            {
                "lb_endpoints": [
                    {
                        "endpoint": {
                            "address": {
                                "socket_address": {
                                    "address": "127.0.0.1",
                                    "port_value": 10001 + 10 * index,
                                }
                            },
                            "hostname": f"cell-{index}",
                        }
                    }
                ]
            }
        ]


def test_cell_without_healthy_host_gets_no_panic_routing():
    for name, cluster in clusters(router_bootstrap(make_spec(2))).items():
        if name == "cells":
            continue
        assert cluster["common_lb_config"] == {"healthy_panic_threshold": {"value": 0}}
        assert "lb_policy" not in cluster


def test_one_route_per_cell_on_cell_header():
    cell_routes = routes(router_bootstrap(make_spec(2)))[:2]

    assert cell_routes == [
        {
            "name": f"cell-cell-{index}",
            "match": {
                "prefix": "/",
                "headers": [{"name": "x-router-cell", "string_match": {"exact": f"cell-{index}"}}],
            },
            "route": {"cluster": f"cell-cell-{index}", "timeout": "15.000s"},
            "request_headers_to_remove": ["x-router-cell"],
        }
        for index in range(2)
    ]


def test_health_path_without_cell_goes_to_any_cell():
    config = router_bootstrap(make_spec(2))
    health = routes(config)[2]

    assert health == {
        "name": "health",
        "match": {"path": "/healthz"},
        "route": {"cluster": "cells", "timeout": "15.000s"},
    }
    assert clusters(config)["cells"]["cluster_type"]["typed_config"]["clusters"] == [
        "cell-cell-0",
        "cell-cell-1",
    ]


def test_request_without_cell_gets_error_not_cell():
    last = routes(router_bootstrap(make_spec()))[-1]

    assert last["match"] == {"prefix": "/"}
    assert "route" not in last
    assert last["direct_response"] == {
        "status": 500,
        "body": {"inline_string": '{"error": "the router assigned no cell to the request"}'},
    }


def test_no_route_retries():
    for entry in routes(router_bootstrap(make_spec())):
        assert "retry_policy" not in entry.get("route", {})


def test_unavailable_cell_reply_names_cell():
    mappers = connection_manager(router_bootstrap(make_spec()))["local_reply_config"]["mappers"]

    assert mappers[0]["body_format_override"]["json_format"]["cell"] == (
        "%DYNAMIC_METADATA(cellarch.router:cell)%"
    )
    assert mappers[1]["filter"] == {"response_flag_filter": {"flags": ["UH"]}}


def test_active_health_check_on_healthz():
    check = clusters(router_bootstrap(make_spec()))["cell-cell-0"]["health_checks"][0]

    assert check == {
        "timeout": "1.000s",
        "interval": "2.000s",
        "no_traffic_interval": "2.000s",
        "unhealthy_threshold": 2,
        "healthy_threshold": 1,
        "http_health_check": {"path": "/healthz"},
    }


def test_outlier_detection_ejects_after_5xx():
    config = router_bootstrap(make_spec(consecutive_5xx=3))
    outlier = clusters(config)["cell-cell-1"]["outlier_detection"]

    assert outlier == {
        "consecutive_5xx": 3,
        "interval": "5s",
        "base_ejection_time": "30.000s",
        "max_ejection_percent": 100,
    }


def test_request_checks_run_before_routing():
    listener = router_bootstrap(make_spec(max_path_bytes=2048))["static_resources"]["listeners"][0]
    filters = listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    code = filters[0]["typed_config"]["default_source_code"]["inline_string"]

    assert [f["name"] for f in filters] == ["envoy.filters.http.lua", "envoy.filters.http.router"]
    assert 'local user_header = "x-user-id"' in code
    assert "local max_path_bytes = 2048" in code


def test_lua_filter_holds_cells_sorted_with_seeds():
    cells = (RouterCell("us-1", "127.0.0.1", 10001), RouterCell("eu-1", "127.0.0.1", 10002))
    listener = router_bootstrap(make_spec(cells=cells))["static_resources"]["listeners"][0]
    filters = listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    code = filters[0]["typed_config"]["default_source_code"]["inline_string"]

    # The seeds are the FNV-1a hashes of the names, as in cell_assignment.cell_seed.
    assert f'{{"eu-1", {fnv1a32(b"eu-1")}}},\n  {{"us-1", {fnv1a32(b"us-1")}}},' in code


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

    assert clusters(router_bootstrap(make_spec(cells=cells)))["cell-cell-0"]["type"] == "STRICT_DNS"


def test_ip_cell_hosts_use_static():
    assert clusters(router_bootstrap(make_spec()))["cell-cell-0"]["type"] == "STATIC"


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
        (
            {"hash_header": "x-router-cell"},
            "RouterSpec.hash_header: invalid value 'x-router-cell'; expected a lower-case header "
            "name other than 'x-router-cell'",
        ),
        ({"consecutive_5xx": 0}, "RouterSpec.consecutive_5xx: invalid value 0"),
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
