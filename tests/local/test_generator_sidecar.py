"""The sidecar bootstrap: ext_authz fails closed and asks the agent over loopback."""

import pytest

from components.sidecar import SidecarSpec, SpecError, sidecar_bootstrap


def make_spec(**overrides) -> SidecarSpec:
    fields = {
        "cell": "eu-1",
        "jurisdiction": "eu",
        "region": "local",
        "listen_port": 10001,
        "admin_port": 10002,
        "service_port": 10000,
        "agent_address": "127.0.0.1:9191",
    }
    fields.update(overrides)
    return SidecarSpec(**fields)


def connection_manager(config: dict) -> dict:
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def ext_authz(config: dict) -> dict:
    filters = connection_manager(config)["http_filters"]
    return next(f for f in filters if f["name"] == "envoy.filters.http.ext_authz")["typed_config"]


def cluster(config: dict, name: str) -> dict:
    return next(c for c in config["static_resources"]["clusters"] if c["name"] == name)


def test_ext_authz_fails_closed_with_403():
    authz = ext_authz(sidecar_bootstrap(make_spec()))

    assert authz["failure_mode_allow"] is False
    assert authz["status_on_error"] == {"code": "Forbidden"}
    assert authz["transport_api_version"] == "V3"


def test_ext_authz_timeout_defaults_to_250_ms():
    authz = ext_authz(sidecar_bootstrap(make_spec()))

    assert authz["grpc_service"]["timeout"] == "0.250s"
    assert authz["grpc_service"]["envoy_grpc"] == {"cluster_name": "policy_agent"}


def test_ext_authz_timeout_follows_spec():
    authz = ext_authz(sidecar_bootstrap(make_spec(authz_timeout_ms=1500)))

    assert authz["grpc_service"]["timeout"] == "1.500s"


def test_ext_authz_runs_before_router():
    names = [f["name"] for f in connection_manager(sidecar_bootstrap(make_spec()))["http_filters"]]

    assert names == ["envoy.filters.http.ext_authz", "envoy.filters.http.router"]


def test_route_sets_context_extensions():
    route_config = connection_manager(sidecar_bootstrap(make_spec()))["route_config"]
    route = route_config["virtual_hosts"][0]["routes"][0]
    per_route = route["typed_per_filter_config"]["envoy.filters.http.ext_authz"]

    assert per_route["check_settings"]["context_extensions"] == {
        "cell": "eu-1",
        "jurisdiction": "eu",
        "region": "local",
    }
    assert route["route"]["cluster"] == "service"


def test_agent_cluster_over_tcp_loopback():
    agent = cluster(sidecar_bootstrap(make_spec()), "policy_agent")
    endpoint = agent["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]

    assert endpoint["address"] == {"socket_address": {"address": "127.0.0.1", "port_value": 9191}}
    options = agent["typed_extension_protocol_options"]
    http_options = options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert http_options["explicit_http_config"] == {"http2_protocol_options": {}}


def test_agent_cluster_over_unix_socket():
    config = sidecar_bootstrap(make_spec(agent_address="unix:///run/agent/agent.sock"))
    agent = cluster(config, "policy_agent")
    endpoint = agent["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]

    assert endpoint["address"] == {"pipe": {"path": "/run/agent/agent.sock"}}


def test_admin_binds_loopback_only():
    config = sidecar_bootstrap(make_spec(listen_address="0.0.0.0"))

    assert config["admin"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": 10002,
    }


def test_listener_and_service_addresses():
    config = sidecar_bootstrap(make_spec(listen_address="0.0.0.0"))
    listener = config["static_resources"]["listeners"][0]
    service = cluster(config, "service")
    endpoint = service["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]

    assert listener["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 10001}
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 10000}
    assert service["type"] == "STATIC"


def test_access_log_to_stdout_by_default():
    log = connection_manager(sidecar_bootstrap(make_spec()))["access_log"][0]

    assert log["name"] == "envoy.access_loggers.stdout"
    assert log["typed_config"]["log_format"]["json_format"]["status"] == "%RESPONSE_CODE%"


def test_access_log_to_file():
    config = sidecar_bootstrap(make_spec(access_log_path="/var/log/envoy/access.log"))
    log = connection_manager(config)["access_log"][0]

    assert log["name"] == "envoy.access_loggers.file"
    assert log["typed_config"]["path"] == "/var/log/envoy/access.log"


def test_fail_open_is_rejected():
    with pytest.raises(SpecError) as error:
        make_spec(failure_mode_allow=True)

    assert str(error.value) == (
        "SidecarSpec.failure_mode_allow: invalid value True; expected False: the sidecar "
        "denies when the policy agent fails (fail closed)"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cell", "EU_1", "SidecarSpec.cell: invalid value 'EU_1'; expected a DNS label"),
        ("jurisdiction", "EU", "SidecarSpec.jurisdiction: invalid value 'EU'; expected 2 to 12"),
        ("region", "", "SidecarSpec.region: invalid value ''; expected a DNS label"),
        ("listen_port", 0, "SidecarSpec.listen_port: invalid value 0; expected an integer port"),
        ("admin_port", 70000, "SidecarSpec.admin_port: invalid value 70000; expected an integer"),
        ("service_port", "80", "SidecarSpec.service_port: invalid value '80'; expected an integ"),
        ("admin_port", 10001, "SidecarSpec.admin_port: invalid value 10001; expected a port other"),
        ("service_port", 10002, "SidecarSpec.service_port: invalid value 10002; expected a port"),
        (
            "agent_address",
            "10.0.0.5:9191",
            "SidecarSpec.agent_address: invalid value '10.0.0.5:9191'; expected '127.0.0.1:PORT'",
        ),
        (
            "agent_address",
            "localhost:9191",
            "SidecarSpec.agent_address: invalid value 'localhost:9191'; expected '127.0.0.1:PORT'",
        ),
        (
            "agent_address",
            "unix://relative.sock",
            "SidecarSpec.agent_address: invalid value 'unix://relative.sock'; expected",
        ),
        (
            "agent_address",
            "unix:///" + "a" * 120,
            "SidecarSpec.agent_address: invalid value 'unix:///aaa",
        ),
        ("agent_address", "127.0.0.1", "SidecarSpec.agent_address: invalid value '127.0.0.1'"),
        ("authz_timeout_ms", 0, "SidecarSpec.authz_timeout_ms: invalid value 0; expected an int"),
        ("access_log_path", "logs/a.log", "SidecarSpec.access_log_path: invalid value 'logs/a"),
    ],
)
def test_invalid_field_is_rejected(field, value, message):
    with pytest.raises(SpecError) as error:
        make_spec(**{field: value})

    assert str(error.value).startswith(message)
    assert error.value.field == field
    assert "\n" not in str(error.value)


def test_long_unix_socket_path_names_the_limit():
    with pytest.raises(SpecError) as error:
        make_spec(agent_address="unix:///" + "a" * 120)

    assert "at most 107 bytes" in str(error.value)
