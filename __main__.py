"""Reference program: one region per stack, from the stack's `cellarch` config.

`pulumi up -s aws-us-east-1` deploys the stack's GovernancePlane (bundle repository,
signing key, first bundle), its Region (cells, router, control-plane cluster, shock
absorber) and its ObservabilityStack (collector gateway, Prometheus, dashboards). Every
resource gets an explicit provider that this program creates for the stack's cloud and
region, and the config is checked before any resource is created.
"""

import pulumi
import pulumi_random as random
import pulumi_tls as tls

from components.config import RegionConfig, load_region_config
from components.errors import ConfigError
from components.governance import GovernancePlane, GovernancePlaneArgs, TokenIssuerArgs
from components.kubernetes.args import ServiceSpec
from components.observability import ObservabilityStack, ObservabilityStackArgs
from components.queue import QueueArgs
from components.region import Region, RegionArgs, RegionCellArgs, RolloutArgs


def cloud_provider(config: RegionConfig) -> pulumi.ProviderResource:
    """Return the one provider of the stack's cloud, pinned to its region (and account)."""
    if config.cloud == "aws":
        import pulumi_aws as aws

        return aws.Provider(
            f"aws-{config.region}",
            region=config.region,
            allowed_account_ids=[config.account_id] if config.account_id else None,
        )
    import pulumi_gcp as gcp

    return gcp.Provider(f"gcp-{config.region}", project=config.project, region=config.region)


def services(config: RegionConfig) -> list[ServiceSpec]:
    specs = []
    for index, service in enumerate(config.services):
        spec = ServiceSpec(
            name=service.name,
            image=service.image,
            port=service.port,
            min_replicas=service.min_replicas,
            max_replicas=service.max_replicas,
            calls=list(service.calls),
            public=service.public,
            uses_database=service.uses_database,
        )
        spec.validate(f"cellarch:services[{index}]")
        specs.append(spec)
    return specs


def region_args(config: RegionConfig, governance: GovernancePlane) -> RegionArgs:
    return RegionArgs(
        cloud=config.cloud,
        region=config.region,
        project=config.project,
        environment=config.environment,
        jurisdiction=config.jurisdiction,
        zones=list(config.zones),
        supernet=config.network.supernet,
        cell_prefix_length=config.network.cell_prefix_length,
        subnet_prefix_lengths=config.network.subnet_prefix_lengths,
        control_plane_cidr=config.addresses.control_plane.cidr,
        cells=[RegionCellArgs(name=c.name, users=c.size, cidr=c.cidr) for c in config.cells],
        cell_size_cap=config.cell_size_cap,
        rollout=RolloutArgs(
            canary=config.rollout.canary, max_wave_size=config.rollout.max_wave_size
        ),
        queue=QueueArgs(**vars(config.queue)),
        services=services(config),
        bundle=governance.bundle_source(),
        telemetry_endpoint=config.telemetry_endpoint,
        kubernetes_version=config.kubernetes_version,
        stack=config.stack,
    )


def main() -> None:
    try:
        config = load_region_config()
        services(config)
    except ConfigError as error:
        # One line that names the key, the value and what is accepted; no traceback.
        raise pulumi.RunError(str(error)) from None

    provider = cloud_provider(config)
    # random and tls resources get explicit providers too, so nothing uses a default one.
    random_provider = random.Provider("random")
    tls_provider = tls.Provider("tls")

    governance = GovernancePlane(
        "governance",
        GovernancePlaneArgs(
            cloud=config.cloud,
            region=config.region,
            project=config.project,
            environment=config.environment,
            bundle_name=config.governance.bundle_name,
            token_issuers=[
                TokenIssuerArgs(i.issuer, i.audience, i.public_key_pem)
                for i in config.token_issuers
            ],
            stack=config.stack,
        ),
        pulumi.ResourceOptions(providers=[provider, tls_provider]),
    )
    region = Region(
        "region",
        region_args(config, governance),
        pulumi.ResourceOptions(providers=[provider, random_provider, tls_provider]),
    )
    observability = ObservabilityStack(
        "observability",
        ObservabilityStackArgs(
            cloud=config.cloud,
            region=config.region,
            prometheus=config.observability.prometheus,
            project=config.project,
            oidc_provider_arn=region.control_plane_oidc_provider_arn,
            oidc_issuer=region.control_plane_oidc_issuer,
            gateway_memory_limit_mib=config.observability.collector_memory_limit_mib,
            gateway_queue_size=config.observability.collector_queue_size,
            gateway_tls=region.telemetry_gateway_tls,
            stack=config.stack,
        ),
        pulumi.ResourceOptions(providers=[provider, region.control_plane_kubernetes]),
    )

    # What a CI pipeline follows to roll a change out cell by cell (I7).
    pulumi.export("canary", region.canary)
    pulumi.export("rolloutWaves", region.rollout_waves)
    pulumi.export("cellUrns", {name: cell.urn for name, cell in region.cells.items()})
    pulumi.export("cells", region.cell_names)
    pulumi.export("cellCidrs", region.cell_cidrs)
    pulumi.export("cellIngress", region.cell_ingress)
    pulumi.export("routerAddress", region.router_address)
    pulumi.export("controlPlaneCluster", region.control_plane_cluster)
    pulumi.export("queueId", region.queue_id)
    pulumi.export("deadLetterQueueId", region.dead_letter_queue_id)
    pulumi.export("bundleBucket", governance.bucket_name)
    pulumi.export("bundleCurrentKey", governance.current_bundle_key)
    pulumi.export("bundleSigningKeyId", governance.signing_key_id)
    pulumi.export("bundleSigningPublicKey", governance.signing_public_key_pem)
    pulumi.export("bundleSigningPrivateKey", governance.signing_private_key_pem)
    pulumi.export("telemetryEndpoint", config.telemetry_endpoint)
    pulumi.export("telemetryCaCertificate", region.telemetry_ca_certificate)
    pulumi.export("observabilityGatewayAddress", observability.gateway_address)
    pulumi.export("prometheusQueryUrl", observability.prometheus_query_url)


main()
