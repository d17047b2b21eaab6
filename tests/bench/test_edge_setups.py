import io
import json
import tarfile

import pytest

from bench.edge.setups import stock_opa_config, without_ext_authz, write_rego_bundle
from components.sidecar import SidecarSpec, sidecar_bootstrap


def _bootstrap() -> dict:
    spec = SidecarSpec(
        cell="eu-1",
        jurisdiction="eu",
        region="local",
        listen_port=10000,
        admin_port=10001,
        service_port=10002,
        agent_address="127.0.0.1:10003",
        access_log_path="/tmp/sidecar-access.log",
    )
    return sidecar_bootstrap(spec)


def _connection_manager(bootstrap: dict) -> dict:
    listener = bootstrap["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_without_ext_authz_keeps_only_router_filter():
    manager = _connection_manager(without_ext_authz(_bootstrap()))

    assert [f["name"] for f in manager["http_filters"]] == ["envoy.filters.http.router"]


def test_without_ext_authz_drops_route_settings():
    manager = _connection_manager(without_ext_authz(_bootstrap()))
    route = manager["route_config"]["virtual_hosts"][0]["routes"][0]

    assert route == {
        "match": {"prefix": "/"},
        "route": {"cluster": "service", "timeout": "15.000s"},
    }


def test_without_ext_authz_drops_agent_cluster():
    config = without_ext_authz(_bootstrap())

    assert [c["name"] for c in config["static_resources"]["clusters"]] == ["service"]


def test_without_ext_authz_leaves_input_unchanged():
    bootstrap = _bootstrap()
    before = json.dumps(bootstrap, sort_keys=True)

    without_ext_authz(bootstrap)

    assert json.dumps(bootstrap, sort_keys=True) == before


def test_stock_opa_config_copies_agent_settings():
    caching = {"inter_query_builtin_value_cache": {"named": {"io_jwt": {"max_num_entries": 5}}}}
    agent = {
        "labels": {"cell": "eu-1"},
        "services": {"bundle_repository": {"url": "http://127.0.0.1:9000/b"}},
        "bundles": {"authz": {"service": "bundle_repository"}},
        "keys": {"k": {"key": "pem", "algorithm": "ES256"}},
        "persistence_directory": "/tmp/p",
        "decision_logs": {"console": True},
        "status": {"console": True},
        "caching": caching,
        "plugins": {
            "envoy_ext_authz_wasm": {
                "addr": "127.0.0.1:9191",
                "path": "envoy/authz/result",
                "enable_reflection": False,
            }
        },
    }

    assert stock_opa_config(agent, "127.0.0.1:9292") == {
        "labels": {"cell": "eu-1"},
        "decision_logs": {"console": True},
        "status": {"console": True},
        "caching": {
            "inter_query_builtin_value_cache": {"named": {"io_jwt": {"max_num_entries": 5}}}
        },
        "plugins": {
            "envoy_ext_authz_grpc": {
                "addr": "127.0.0.1:9292",
                "path": "envoy/authz/result",
                "enable_reflection": False,
            }
        },
    }


def _tarball(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def _wasm_bundle(path, **members: bytes) -> None:
    manifest = {
        "revision": "r1",
        "roots": ["envoy", "authz"],
        "wasm": [{"entrypoint": "envoy/authz/result", "module": "/policy.wasm"}],
    }
    contents = {
        "/.manifest": json.dumps(manifest).encode(),
        "/.signatures.json": b"{}",
        "/data.json": b'{"authz": {"revoked": []}}',
        "/policy.wasm": b"\0asm",
        "/policies/authz/authz.rego": b"package envoy.authz\n# compiled away\n",
    }
    contents.update(members)
    _tarball(path, {name: value for name, value in contents.items() if value is not None})


def _policy_dir(tmp_path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "authz.rego").write_text("package envoy.authz\n# source\n")
    (policy_dir / "authz_test.rego").write_text("package envoy.authz_test\n")
    return policy_dir


def test_write_rego_bundle_files(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz")

    bundle = write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", _policy_dir(tmp_path))

    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert files == [".manifest", "data.json", "policies/authz/authz.rego"]


def test_write_rego_bundle_takes_sources_not_compiled_rego(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz")

    bundle = write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", _policy_dir(tmp_path))

    assert (bundle / "policies/authz/authz.rego").read_text() == "package envoy.authz\n# source\n"


def test_write_rego_bundle_takes_data_and_manifest(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz")

    bundle = write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", _policy_dir(tmp_path))

    assert (bundle / "data.json").read_text() == '{"authz": {"revoked": []}}'
    assert json.loads((bundle / ".manifest").read_text()) == {
        "revision": "r1",
        "roots": ["envoy", "authz"],
    }


def test_write_rego_bundle_rejects_bundle_without_data(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz", **{"/data.json": None})

    with pytest.raises(ValueError, match=r"no data\.json"):
        write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", _policy_dir(tmp_path))


def test_write_rego_bundle_leaves_out_packages_outside_roots(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz")
    policy_dir = _policy_dir(tmp_path)
    (policy_dir / "log_mask.rego").write_text("package system.log\nmask contains 1\n")
    (policy_dir / "tables.rego").write_text("# METADATA\npackage authz.tables\n")

    bundle = write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", policy_dir)

    files = sorted(p.name for p in (bundle / "policies/authz").iterdir())
    assert files == ["authz.rego", "tables.rego"]


def test_write_rego_bundle_rejects_source_without_package(tmp_path):
    _wasm_bundle(tmp_path / "bundle.tar.gz")
    policy_dir = _policy_dir(tmp_path)
    (policy_dir / "broken.rego").write_text("allow := true\n")

    with pytest.raises(ValueError, match=r"broken\.rego has no package line"):
        write_rego_bundle(tmp_path / "rego", tmp_path / "bundle.tar.gz", policy_dir)
