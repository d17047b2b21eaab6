"""Example program: the library's components in a program of your own.

Two cells of one region in eu-west-2 with their router, control plane and queue (Region),
the bundle repository and signing key they fetch policies from (GovernancePlane), and the
collector gateway with Prometheus (ObservabilityStack). Every component gets the providers
it needs explicitly, so none of their resources uses a default provider.

Run it with the repository root on PYTHONPATH (or `pip install` the repository):
`pulumi up -s dev` in this folder.
"""

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pulumi_tls as tls

from components import (
    GovernancePlane,
    GovernancePlaneArgs,
    ObservabilityStack,
    ObservabilityStackArgs,
    Region,
    RegionArgs,
)
from components.governance import TokenIssuerArgs
from components.kubernetes.args import ServiceSpec
from components.region import RegionCellArgs, RolloutArgs

REGION = "eu-west-2"

config = pulumi.Config()
london = aws.Provider("london", region=REGION)

governance = GovernancePlane(
    "governance",
    GovernancePlaneArgs(
        cloud="aws",
        region=REGION,
        environment="staging",
        token_issuers=[
            TokenIssuerArgs(
                issuer="https://auth.example.com",
                audience="shop",
                public_key_pem=config.require("issuerPublicKey"),
            )
        ],
    ),
    pulumi.ResourceOptions(providers=[london, tls.Provider("tls")]),
)

region = Region(
    "london",
    RegionArgs(
        cloud="aws",
        region=REGION,
        environment="staging",
        supernet="10.80.0.0/12",
        cells=[
            RegionCellArgs(name="shop-a", users=8_000),
            RegionCellArgs(name="shop-b", users=12_000),
        ],
        rollout=RolloutArgs(canary="shop-a"),
        services=[
            ServiceSpec(
                name="storefront",
                image="ghcr.io/example/storefront:3.1.0",
                port=3000,
                public=True,
                calls=["cart"],
            ),
            ServiceSpec(name="cart", image="ghcr.io/example/cart:1.8.0", port=3000),
        ],
        bundle=governance.bundle_source(),
        telemetry_endpoint="otel.london.example.com:4317",
    ),
    pulumi.ResourceOptions(providers=[london, random.Provider("random")]),
)

observability = ObservabilityStack(
    "observability",
    ObservabilityStackArgs(
        cloud="aws",
        region=REGION,
        prometheus="in-cluster",
        # The certificate that the region's telemetry authority signed for the gateway, so
        # that the gateway accepts OTLP from this region's cells only.
        gateway_tls=region.telemetry_gateway_tls,
    ),
    # The gateway runs on the region's control-plane cluster.
    pulumi.ResourceOptions(providers=[london, region.control_plane_kubernetes]),
)

pulumi.export("rolloutWaves", region.rollout_waves)
pulumi.export("routerAddress", region.router_address)
pulumi.export("bundleBucket", governance.bucket_name)
pulumi.export("prometheusQueryUrl", observability.prometheus_query_url)
