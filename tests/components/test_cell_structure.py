"""Structure of a cell on both clouds and in both modes: parents, providers, outputs, secrets."""

import pytest
from cell_harness import STACK, run_cell

from offline import UNKNOWN

MODES = [pytest.param(True, id="preview"), pytest.param(False, id="update")]
CLOUDS = ["aws", "gcp"]


@pytest.fixture(
    scope="module",
    params=[(c, p) for c in CLOUDS for p in (True, False)],
    ids=lambda v: f"{v[0]}-{'preview' if v[1] else 'update'}",
)
def run(request):
    cloud, preview = request.param
    return run_cell(cloud, preview=preview)


@pytest.fixture(
    scope="module",
    params=[(c, p) for c in CLOUDS for p in (True, False)],
    ids=lambda v: f"{v[0]}-{'preview' if v[1] else 'update'}",
)
def nested_run(request):
    cloud, preview = request.param
    return run_cell(cloud, preview=preview, nested=True)


def _cloud(run) -> str:
    return run.cloud_provider_urn.split("pulumi:providers:")[1].split("::")[0]


def test_cell_type_token(run):
    assert run.cell.type == "cellarch:index:Cell"
    assert run.cell.custom is False


def test_every_child_has_a_parent_inside_the_cell(run):
    inside = {record.urn for record in run.resources()}
    children = run.resources()[1:]
    assert len(children) > 40
    for record in children:
        assert record.parent in inside, f"{record.type} {record.name} has parent {record.parent}"


def test_every_resource_of_the_program_is_under_the_cell(run):
    outside = {
        record.type
        for record in run.recording.resources
        if record.urn not in {r.urn for r in run.resources()}
    }
    assert outside == {"pulumi:pulumi:Stack", f"pulumi:providers:{_cloud(run)}"}


def test_cloud_resources_use_the_given_provider(run):
    cloud = _cloud(run)
    resources = [r for r in run.resources() if r.custom and r.package == cloud]
    assert len(resources) > 20
    for record in resources:
        assert record.provider_urn == run.cloud_provider_urn, f"{record.type} {record.name}"


def test_kubernetes_resources_use_the_cells_cluster(run):
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert provider.name == "cell-1-kubernetes"
    assert provider.parent == run.cell.urn
    resources = [r for r in run.resources() if r.custom and r.package == "kubernetes"]
    # Namespace, 2 shared ConfigMaps, 2 namespace policies, the database Secret, the ingress
    # Service, and 7 objects for each of the 3 services.
    assert len(resources) == 7 + 3 * 7
    for record in resources:
        assert record.provider_urn == provider.urn, f"{record.type} {record.name}"


def test_password_uses_the_cells_random_provider(run):
    (provider,) = run.of_type("pulumi:providers:random")
    (password,) = run.of_type("random:index/randomPassword:RandomPassword")
    assert provider.parent == run.cell.urn
    assert password.provider_urn == provider.urn


def test_no_resource_uses_a_default_provider(run):
    for record in run.resources():
        if record.custom and not record.is_provider:
            assert record.provider is not None
            assert "::default::" not in record.provider, f"{record.type} {record.name}"


def test_nested_cell_takes_the_provider_from_two_levels_up(nested_run):
    (outer,) = nested_run.recording.of_type("test:index:Outer")
    (middle,) = nested_run.recording.of_type("test:index:Middle")
    assert middle.parent == outer.urn
    assert nested_run.cell.parent == middle.urn
    cloud = _cloud(nested_run)
    resources = [r for r in nested_run.resources() if r.custom and r.package == cloud]
    assert len(resources) > 20
    for record in resources:
        assert record.provider_urn == nested_run.cloud_provider_urn, f"{record.type} {record.name}"


def test_nested_cell_has_no_default_provider(nested_run):
    for record in nested_run.resources():
        if record.custom and not record.is_provider:
            assert "::default::" not in (record.provider or "::default::"), record.name


def test_components_register_outputs_once(run):
    components = [r for r in run.resources() if not r.custom]
    assert [r.type for r in components] == ["cellarch:index:Cell", "cellarch:index:CellWorkloads"]
    for record in components:
        assert record.output_registrations == 1, record.type


def test_cell_outputs_are_registered(run):
    outputs = run.cell.component_outputs
    assert sorted(outputs) == [
        "cluster_name",
        "database_host",
        "database_password",
        "database_port",
        "ingress_address",
        "key_id",
        "kubeconfig",
        "namespace",
        "network_id",
        "users",
    ]
    assert outputs["users"] == 10_000


def test_cell_output_values_in_update_mode():
    run = run_cell("aws", preview=False)
    outputs = run.cell.component_outputs
    assert outputs["database_port"] == 5432
    assert outputs["namespace"] == "cell-cell-1"
    assert outputs["ingress_address"].endswith(".elb.us-east-1.amazonaws.com")
    assert outputs["key_id"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert outputs["network_id"].startswith("vpc-")


def test_cell_output_values_are_unknown_in_preview():
    run = run_cell("aws", preview=True)
    outputs = run.cell.component_outputs
    assert outputs["network_id"] == UNKNOWN
    assert outputs["database_host"] == UNKNOWN
    assert outputs["users"] == 10_000


def test_secret_outputs_are_marked_secret(run):
    outputs = run.recording.stack_outputs()
    assert outputs["kubeconfig_is_secret"] is True
    assert outputs["database_password_is_secret"] is True
    assert outputs["database_host_is_secret"] is False


def test_password_is_a_secret_everywhere_it_is_sent(run):
    cloud = _cloud(run)
    (password,) = run.of_type("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] == 32
    if cloud == "aws":
        (instance,) = run.of_type("aws:rds/instance:Instance")
        assert "password" in instance.secret_inputs
        (version,) = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        assert "secretString" in version.secret_inputs
    else:
        (user,) = run.of_type("gcp:sql/user:User")
        assert "password" in user.secret_inputs
    (secret,) = run.of_type("kubernetes:core/v1:Secret")
    assert "stringData" in secret.secret_inputs
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert "kubeconfig" in provider.secret_inputs


def test_password_value_reaches_the_database_in_update_mode():
    run = run_cell("aws", preview=False)
    (password,) = run.of_type("random:index/randomPassword:RandomPassword")
    (instance,) = run.of_type("aws:rds/instance:Instance")
    assert len(password.outputs["result"]) == 32
    assert instance.inputs["password"] == password.outputs["result"]


def test_labels_name_the_stack(run):
    cloud = _cloud(run)
    (key,) = run.of_type("aws:kms/key:Key" if cloud == "aws" else "gcp:kms/cryptoKey:CryptoKey")
    labels = key.inputs["tags" if cloud == "aws" else "labels"]
    assert labels["stack"] == STACK
