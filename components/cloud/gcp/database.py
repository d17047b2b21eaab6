"""GCP part of the database concern: a regional Cloud SQL PostgreSQL on a private endpoint."""

import pulumi
import pulumi_gcp as gcp

from components.cloud.base import (
    CellContext,
    CellDatabase,
    CellKey,
    CellNetwork,
    DatabaseSeam,
    DatabaseSpec,
)
from components.cloud.gcp.network import GcpNetwork

POSTGRES_PORT = 5432


class GcpDatabaseSeam(DatabaseSeam):
    """A Cloud SQL PostgreSQL instance that meets I10 on GCP.

    Regional availability (a standby in a second zone), disks encrypted with the cell's
    key, no public address, TLS required, daily backups with point-in-time recovery, and in
    production deletion protection on both the GCP and the Pulumi side.

    The instance is reached through Private Service Connect: an internal address in the
    cell's database subnetwork forwards to the instance's service attachment. Unlike
    private services access, this needs no VPC peering, so no network is shared between
    cells or with a producer network that other cells also peer with (I6).
    """

    def create(
        self,
        ctx: CellContext,
        spec: DatabaseSpec,
        network: CellNetwork,
        key: CellKey,
        password: pulumi.Output[str],
    ) -> CellDatabase:
        if not isinstance(network, GcpNetwork):
            raise TypeError(f"the GCP database seam needs a GcpNetwork, got {type(network)}")
        instance = gcp.sql.DatabaseInstance(
            ctx.resource_name("db"),
            project=ctx.project,
            region=ctx.cloud_region,
            database_version=f"POSTGRES_{spec.engine_version.split('.')[0]}",
            encryption_key_name=key.key_id,
            deletion_protection=ctx.production,
            settings={
                "tier": spec.instance_class,
                "edition": "ENTERPRISE",
                "availability_type": "REGIONAL",
                "disk_type": "PD_SSD",
                "disk_size": spec.storage_gb,
                "disk_autoresize": True,
                "disk_autoresize_limit": spec.max_storage_gb,
                "deletion_protection_enabled": ctx.production,
                "backup_configuration": {
                    "enabled": True,
                    "start_time": "03:00",
                    "point_in_time_recovery_enabled": True,
                    "transaction_log_retention_days": min(spec.backup_retention_days, 7),
                    "backup_retention_settings": {
                        "retained_backups": spec.backup_retention_days,
                        "retention_unit": "COUNT",
                    },
                },
                "ip_configuration": {
                    "ipv4_enabled": False,
                    "ssl_mode": "ENCRYPTED_ONLY",
                    "psc_configs": [
                        {"psc_enabled": True, "allowed_consumer_projects": [ctx.project]}
                    ],
                },
                "maintenance_window": {"day": 7, "hour": 4},
                "user_labels": ctx.labels(),
            },
            opts=ctx.opts(protect=ctx.production, depends_on=list(key.resources)),
        )
        database = gcp.sql.Database(
            ctx.resource_name("db-database"),
            project=ctx.project,
            instance=instance.name,
            name=spec.database_name,
            opts=ctx.opts(),
        )
        user = gcp.sql.User(
            ctx.resource_name("db-user"),
            project=ctx.project,
            instance=instance.name,
            name=spec.username,
            password=password,
            opts=ctx.opts(additional_secret_outputs=["password"]),
        )
        address = gcp.compute.Address(
            ctx.resource_name("db-endpoint"),
            project=ctx.project,
            region=ctx.cloud_region,
            subnetwork=network.database_subnetwork_id,
            address_type="INTERNAL",
            labels=ctx.labels(),
            opts=ctx.opts(),
        )
        gcp.compute.ForwardingRule(
            ctx.resource_name("db-psc"),
            project=ctx.project,
            region=ctx.cloud_region,
            network=network.network_id,
            ip_address=address.self_link,
            target=instance.psc_service_attachment_link,
            # An empty scheme is how the API spells a Private Service Connect endpoint.
            load_balancing_scheme="",
            labels=ctx.labels(),
            opts=ctx.opts(),
        )
        return CellDatabase(
            host=address.address,
            port=pulumi.Output.from_input(POSTGRES_PORT),
            database_name=database.name,
            username=user.name,
            password=pulumi.Output.secret(password),
        )
