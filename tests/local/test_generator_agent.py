"""The policy agent's OPA configuration and command line."""

import pytest

from components.sidecar import (
    AgentSpec,
    GcsRepository,
    S3Repository,
    SpecError,
    agent_args,
    agent_config,
)

PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"


def make_spec(**overrides) -> AgentSpec:
    fields = {
        "bundle_name": "authz",
        "repository": S3Repository(url="http://127.0.0.1:18002/local-bundles"),
        "signing_key_id": "bundle-signing",
        "signing_public_key_pem": PUBLIC_KEY,
        "persistence_directory": "/var/lib/policy-agent",
        "authz_address": "127.0.0.1:9191",
    }
    fields.update(overrides)
    return AgentSpec(**fields)


def test_local_s3_repository_signs_with_environment_credentials():
    config = agent_config(make_spec())

    assert config["services"] == {
        "bundle_repository": {
            "url": "http://127.0.0.1:18002/local-bundles",
            "credentials": {"s3_signing": {"environment_credentials": {}}},
        }
    }


def test_aws_repository_uses_web_identity():
    repository = S3Repository(
        url="https://bundles-eu.s3.eu-west-1.amazonaws.com",
        credentials="web_identity",
        aws_region="eu-west-1",
    )
    config = agent_config(make_spec(repository=repository))

    assert config["services"]["bundle_repository"]["credentials"] == {
        "s3_signing": {
            "web_identity_credentials": {"session_name": "policy-agent", "aws_region": "eu-west-1"}
        }
    }


def test_gcs_repository_uses_metadata_token_and_encoded_object():
    config = agent_config(make_spec(repository=GcsRepository(bucket="bundles-europe-west1")))

    assert config["services"]["bundle_repository"] == {
        "url": "https://storage.googleapis.com/storage/v1/b/bundles-europe-west1/o",
        "credentials": {
            "gcp_metadata": {"scopes": ["https://www.googleapis.com/auth/devstorage.read_only"]}
        },
    }
    assert config["bundles"]["authz"]["resource"] == (
        "bundles%2Fauthz%2Fcurrent%2Fbundle.tar.gz?alt=media"
    )


def test_verified_tokens_are_cached_by_default():
    config = agent_config(make_spec())

    assert config["caching"] == {
        "inter_query_builtin_value_cache": {"named": {"io_jwt": {"max_num_entries": 1000}}}
    }


def test_verified_token_cache_size_is_configurable():
    config = agent_config(make_spec(verified_token_cache_entries=50))

    assert config["caching"] == {
        "inter_query_builtin_value_cache": {"named": {"io_jwt": {"max_num_entries": 50}}}
    }


def test_verified_token_cache_off_leaves_opa_default():
    config = agent_config(make_spec(verified_token_cache_entries=0))

    assert "caching" not in config


def test_bundle_is_persisted_polled_and_signed():
    config = agent_config(make_spec(polling_min_delay_seconds=1, polling_max_delay_seconds=2))

    assert config["bundles"] == {
        "authz": {
            "service": "bundle_repository",
            "resource": "bundles/authz/current/bundle.tar.gz",
            "persist": True,
            "polling": {"min_delay_seconds": 1, "max_delay_seconds": 2},
            "signing": {"keyid": "bundle-signing"},
        }
    }
    assert config["persistence_directory"] == "/var/lib/policy-agent"


def test_signing_key_is_es256_public_pem():
    config = agent_config(make_spec())

    assert config["keys"] == {"bundle-signing": {"key": PUBLIC_KEY, "algorithm": "ES256"}}


def test_plugin_serves_ext_authz_from_result_rule():
    config = agent_config(make_spec(authz_address="unix:///run/agent/agent.sock"))

    assert config["plugins"] == {
        "envoy_ext_authz_wasm": {
            "addr": "unix:///run/agent/agent.sock",
            "path": "envoy/authz/result",
            "enable_reflection": False,
        }
    }


def test_decision_logs_and_status_go_to_console():
    config = agent_config(make_spec())

    assert config["decision_logs"] == {"console": True}
    assert config["status"] == {"console": True}


def test_labels_are_copied():
    config = agent_config(make_spec(labels={"cell": "eu-1", "region": "local"}))

    assert config["labels"] == {"cell": "eu-1", "region": "local"}


def test_args_disable_version_check():
    args = agent_args(make_spec(), "/etc/policy-agent/config.yaml")

    assert args == [
        "run",
        "--server",
        "--skip-version-check",
        "--disable-telemetry",
        "--addr",
        "127.0.0.1:8181",
        "--diagnostic-addr",
        "127.0.0.1:8282",
        "--config-file",
        "/etc/policy-agent/config.yaml",
    ]


def test_args_diagnostic_address_may_bind_pod_address():
    args = agent_args(make_spec(diagnostic_address="0.0.0.0:8282"), "/etc/agent.yaml")

    assert args[args.index("--diagnostic-addr") + 1] == "0.0.0.0:8282"


def test_args_reject_relative_config_file():
    with pytest.raises(SpecError) as error:
        agent_args(make_spec(), "config.yaml")

    assert str(error.value).startswith("agent_args.config_file: invalid value 'config.yaml'")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bundle_name", "Authz", "AgentSpec.bundle_name: invalid value 'Authz'"),
        ("repository", "s3://bundles", "AgentSpec.repository: invalid value 's3://bundles'"),
        ("signing_key_id", "", "AgentSpec.signing_key_id: invalid value ''"),
        ("signing_public_key_pem", "not a key", "AgentSpec.signing_public_key_pem: invalid"),
        ("persistence_directory", "data", "AgentSpec.persistence_directory: invalid value"),
        ("authz_address", "0.0.0.0:9191", "AgentSpec.authz_address: invalid value '0.0.0.0:9191'"),
        ("http_address", "0.0.0.0:8181", "AgentSpec.http_address: invalid value '0.0.0.0:8181'"),
        ("http_address", "unix:///a.sock", "AgentSpec.http_address: invalid value 'unix:///a"),
        ("diagnostic_address", "8282", "AgentSpec.diagnostic_address: invalid value '8282'"),
        ("authz_path", "envoy.authz.result", "AgentSpec.authz_path: invalid value 'envoy.auth"),
        ("polling_min_delay_seconds", 0, "AgentSpec.polling_min_delay_seconds: invalid value 0"),
        ("polling_max_delay_seconds", 5, "AgentSpec.polling_max_delay_seconds: invalid value 5"),
        (
            "verified_token_cache_entries",
            -1,
            "AgentSpec.verified_token_cache_entries: invalid value -1; expected an integer "
            "from 0 to 1000000 (tokens, 0 to turn the cache off)",
        ),
        (
            "verified_token_cache_entries",
            "1000",
            "AgentSpec.verified_token_cache_entries: invalid value '1000'",
        ),
        ("verified_token_cache_entries", True, "AgentSpec.verified_token_cache_entries: invalid"),
        ("labels", {"cell": 1}, "AgentSpec.labels: invalid value {'cell': 1}"),
    ],
)
def test_invalid_agent_field_is_rejected(field, value, message):
    with pytest.raises(SpecError) as error:
        make_spec(**{field: value})

    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: S3Repository(url="http://bundles.example.com/b"),
            "S3Repository.url: invalid value 'http://bundles.example.com/b'; expected an "
            "https:// URL, or http:// on a loopback address",
        ),
        (
            lambda: S3Repository(url="https://b.s3.amazonaws.com", credentials="instance"),
            "S3Repository.credentials: invalid value 'instance'; expected environment or "
            "web_identity",
        ),
        (
            lambda: S3Repository(url="https://b.s3.amazonaws.com", aws_region="EU"),
            "S3Repository.aws_region: invalid value 'EU'; expected an AWS region such as "
            "'eu-west-1'",
        ),
        (
            lambda: GcsRepository(bucket="Bundles"),
            "GcsRepository.bucket: invalid value 'Bundles'; expected a Cloud Storage bucket name",
        ),
    ],
)
def test_invalid_repository_is_rejected(make, message):
    with pytest.raises(SpecError) as error:
        make()

    assert str(error.value) == message
