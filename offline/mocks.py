"""Mocks that answer like AWS, Google Cloud, Kubernetes, TLS and random providers would.

In update mode a new resource gets a realistic physical ID and the values its cloud
computes (ARNs, endpoints, generated names), keyed in camelCase as the engine keys them.
In preview mode, as in `pulumi preview`, a new resource has no ID yet and every value the
cloud would compute is unknown: the mocks return the inputs alone.
"""

import contextlib
import json
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from offline import computed_aws, computed_gcp, computed_kubernetes, computed_other
from offline.ids import uuid_id
from offline.invokes import AWS_INVOKES, GCP_INVOKES

# The example account id of the AWS documentation, used when a provider pins none.
DEFAULT_AWS_ACCOUNT = "123456789012"
DEFAULT_AWS_REGION = "us-east-1"
DEFAULT_GCP_PROJECT = "cellarch-example"
DEFAULT_GCP_REGION = "europe-west1"

_OTHER = {
    "tls:index/privateKey:PrivateKey": computed_other.tls_private_key,
    "tls:index/selfSignedCert:SelfSignedCert": computed_other.tls_self_signed_cert,
    "tls:index/certRequest:CertRequest": computed_other.tls_cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": computed_other.tls_locally_signed_cert,
    "random:index/randomPassword:RandomPassword": computed_other.random_password,
    "random:index/randomId:RandomId": computed_other.random_id,
    "random:index/randomString:RandomString": computed_other.random_string,
}


class UnknownInvokeError(Exception):
    """The program called a provider function the mocks have no result for."""


class CloudMocks(Mocks):
    def __init__(self, preview: bool) -> None:
        self.preview = preview
        self._providers: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        urn = _urn_of(args)
        if args.typ.startswith("pulumi:providers:"):
            self._providers[urn] = _decode_provider_inputs(args.inputs)
            # Providers are configured during a preview too, so they get an ID in both modes.
            return uuid_id(urn), dict(args.inputs)
        if not args.custom:
            return None, dict(args.inputs)
        if self.preview:
            return None, dict(args.inputs)
        resource_id, computed = self._compute(args, urn)
        return resource_id, {**args.inputs, **computed}

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        # The mock monitor iterates the failures of a tuple, so "no failures" is an empty list.
        provider = self._provider_inputs(args.provider)
        if args.token in AWS_INVOKES:
            account, region = _aws_placement(provider)
            return AWS_INVOKES[args.token](account, region, args.args), []
        if args.token in GCP_INVOKES:
            project, region = _gcp_placement(provider)
            return GCP_INVOKES[args.token](project, region, args.args), []
        raise UnknownInvokeError(
            f"the offline mocks have no result for {args.token}; add one to offline/invokes.py"
        )

    def _compute(self, args: MockResourceArgs, urn: str) -> tuple[str, dict]:
        package = args.typ.split(":", 1)[0]
        provider = self._provider_inputs(args.provider)
        if package == "aws":
            account, region = _aws_placement(provider)
            context = computed_aws.AwsContext(account, region, urn, args.name, args.inputs)
            return computed_aws.compute(args.typ, context)
        if package == "gcp":
            project, region = _gcp_placement(provider)
            context = computed_gcp.GcpContext(project, region, urn, args.name, args.inputs)
            return computed_gcp.compute(args.typ, context)
        if package == "kubernetes":
            # GKE kubeconfigs authenticate with Google's plugin; any other cluster is EKS here.
            kubeconfig = str(provider.get("kubeconfig", ""))
            cloud = "gcp" if "gke-gcloud-auth-plugin" in kubeconfig else "aws"
            return computed_kubernetes.compute(args.typ, urn, args.name, args.inputs, cloud)
        if args.typ in _OTHER:
            return _OTHER[args.typ](urn, args.inputs)
        return f"{args.name}-{uuid_id(urn)[:8]}", {}

    def _provider_inputs(self, reference: str | None) -> dict[str, Any]:
        if not reference:
            return {}
        # A reference is `urn::id`, and a URN ends in `::<parent types>$<type>::<name>`.
        urn = reference.rsplit("::", 1)[0]
        qualified_type, name = urn.split("::")[-2:]
        return self._providers.get(f"{qualified_type.split('$')[-1]}::{name}", {})


def _urn_of(args: MockResourceArgs) -> str:
    # MockResourceArgs carries no URN or parent; type and name identify a resource within a
    # stack because the components give every resource a name unique for its type.
    return f"{args.typ}::{args.name}"


def _decode_provider_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    # The SDK sends provider inputs that are not strings as JSON-encoded strings.
    decoded = {}
    for key, value in inputs.items():
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        decoded[key] = value
    return decoded


def _aws_placement(provider: dict[str, Any]) -> tuple[str, str]:
    accounts = provider.get("allowedAccountIds") or [DEFAULT_AWS_ACCOUNT]
    return str(accounts[0]), str(provider.get("region") or DEFAULT_AWS_REGION)


def _gcp_placement(provider: dict[str, Any]) -> tuple[str, str]:
    return str(provider.get("project") or DEFAULT_GCP_PROJECT), str(
        provider.get("region") or DEFAULT_GCP_REGION
    )
