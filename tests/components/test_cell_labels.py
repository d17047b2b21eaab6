"""Every resource of a cell that can carry labels names its plane, cell, region and stack."""

import pytest
from cell_harness import CELL, STACK, run_cell

PLANES = {"data", "control", "observability"}

# Resource types whose cloud API takes neither labels, tags nor a description. Each is
# tied to one labelled resource of the same cell (a route to its route table, a grant to
# its key or account), which names the cell for it.
UNLABELLED = {
    "aws": {
        "aws:autoscaling/attachment:Attachment",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:kms/alias:Alias",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "random:index/randomPassword:RandomPassword",
    },
    "gcp": {
        "gcp:compute/routerNat:RouterNat",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        "gcp:kms/keyRing:KeyRing",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/serviceIdentity:ServiceIdentity",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:sql/database:Database",
        "gcp:sql/user:User",
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "random:index/randomPassword:RandomPassword",
    },
}


def _cloud_labels(record) -> dict | None:
    """Return the labels of a record as plain keys, or None when it carries none."""
    inputs = record.inputs
    if record.package == "kubernetes":
        labels = inputs["metadata"].get("labels", {})
        return {
            key.removeprefix("cellarch.io/").replace("app.kubernetes.io/", ""): value
            for key, value in labels.items()
            if key.startswith("cellarch.io/") or key == "app.kubernetes.io/managed-by"
        }
    for key in ("tags", "labels", "resourceLabels"):
        if key in inputs:
            return inputs[key]
    if "userLabels" in inputs.get("settings", {}):
        return inputs["settings"]["userLabels"]
    if "resourceLabels" in inputs.get("nodeConfig", {}):
        return inputs["nodeConfig"]["resourceLabels"]
    if "description" in inputs and "=" in inputs["description"]:
        return dict(word.split("=", 1) for word in inputs["description"].split())
    return None


@pytest.fixture(
    scope="module",
    params=[("aws", True), ("aws", False), ("gcp", True), ("gcp", False)],
    ids=["aws-preview", "aws-update", "gcp-preview", "gcp-update"],
)
def run(request):
    cloud, preview = request.param
    return cloud, run_cell(cloud, preview=preview)


def test_every_labellable_resource_is_labelled(run):
    cloud, cell_run = run
    resources = [r for r in cell_run.resources() if r.custom and not r.is_provider]
    unlabelled = set()
    for record in resources:
        labels = _cloud_labels(record)
        if labels is None:
            unlabelled.add(record.type)
            continue
        region = "us-east-1" if cloud == "aws" else "europe-west1"
        assert labels.get("plane") in PLANES, f"{record.type} {record.name}: {labels}"
        assert labels.get("cell") == CELL, f"{record.type} {record.name}"
        assert labels.get("region") == region, f"{record.type} {record.name}"
        assert labels.get("stack") == STACK, f"{record.type} {record.name}"
        assert labels.get("managed-by") == "cellarch", f"{record.type} {record.name}"
    assert unlabelled == UNLABELLED[cloud]


def test_extra_labels_reach_cloud_resources():
    from cell_harness import cell_args

    cell_run = run_cell("aws", preview=True, args=cell_args("aws", labels={"cost-centre": "cc-42"}))
    (vpc,) = cell_run.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["cost-centre"] == "cc-42"
    assert vpc.inputs["tags"]["cell"] == CELL


def test_planes_of_cell_resources(run):
    cloud, cell_run = run
    planes: dict[str, set[str]] = {}
    for record in cell_run.resources():
        if record.custom and not record.is_provider:
            labels = _cloud_labels(record)
            if labels is not None:
                planes.setdefault(labels["plane"], set()).add(record.type)
    assert sorted(planes) == (
        ["control", "data", "observability"] if cloud == "aws" else ["control", "data"]
    )
    pool_type = (
        "aws:eks/nodeGroup:NodeGroup" if cloud == "aws" else "gcp:container/nodePool:NodePool"
    )
    assert pool_type in planes["control"]
    assert pool_type in planes["data"]
