"""Results of the provider functions (invokes) the components call, as the engine returns them."""

import json
from collections.abc import Callable
from typing import Any

from offline.ids import hex_id, number_id

Result = dict[str, Any]


def _caller_identity(account: str, region: str, args: dict) -> Result:
    return {
        "accountId": account,
        "arn": f"arn:aws:sts::{account}:assumed-role/deployer/session",
        "userId": "AROA" + hex_id(account).upper() + ":session",
        "id": account,
    }


def _region(account: str, region: str, args: dict) -> Result:
    return {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
    }


def _partition(account: str, region: str, args: dict) -> Result:
    return {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
        "reverseDnsPrefix": "com.amazonaws",
    }


def _policy_document(account: str, region: str, args: dict) -> Result:
    statements = []
    for statement in args.get("statements") or []:
        rendered: dict[str, Any] = {"Effect": statement.get("effect", "Allow")}
        for source, target in (("actions", "Action"), ("resources", "Resource"), ("sid", "Sid")):
            if source in statement:
                rendered[target] = statement[source]
        for principal in statement.get("principals") or []:
            rendered.setdefault("Principal", {})[principal["type"]] = principal["identifiers"]
        for condition in statement.get("conditions") or []:
            test = rendered.setdefault("Condition", {}).setdefault(condition["test"], {})
            test[condition["variable"]] = condition["values"]
        statements.append(rendered)
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return {"json": document, "minifiedJson": document, "id": hex_id(document)}


def _eks_cluster_auth(account: str, region: str, args: dict) -> Result:
    return {
        "name": args.get("name"),
        "token": "k8s-aws-v1." + hex_id(str(args), 40),
        "id": args.get("name"),
    }


def _gcp_project(project: str, region: str, args: dict) -> Result:
    project_id = args.get("projectId") or project
    return {
        "projectId": project_id,
        "number": number_id("project" + project_id, 12),
        "name": project_id,
        "id": f"projects/{project_id}",
    }


def _gcp_client_config(project: str, region: str, args: dict) -> Result:
    return {"project": project, "region": region, "zone": f"{region}-b", "id": project}


def _gcs_service_account(project: str, region: str, args: dict) -> Result:
    number = number_id("project" + (args.get("project") or project), 12)
    email = f"service-{number}@gs-project-accounts.iam.gserviceaccount.com"
    return {"emailAddress": email, "member": f"serviceAccount:{email}", "id": email}


AWS_INVOKES: dict[str, Callable[[str, str, dict], Result]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:eks/getClusterAuth:getClusterAuth": _eks_cluster_auth,
}

GCP_INVOKES: dict[str, Callable[[str, str, dict], Result]] = {
    "gcp:organizations/getProject:getProject": _gcp_project,
    "gcp:organizations/getClientConfig:getClientConfig": _gcp_client_config,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _gcs_service_account,
}
