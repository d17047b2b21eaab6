"""AWS part of the database concern: a Multi-AZ RDS PostgreSQL in the isolated subnets."""

import json
import re

import pulumi
import pulumi_aws as aws

from components.cloud.aws.network import AwsNetwork
from components.cloud.base import (
    CellContext,
    CellDatabase,
    CellKey,
    CellNetwork,
    DatabaseSeam,
    DatabaseSpec,
)

POSTGRES_PORT = 5432


class AwsDatabaseSeam(DatabaseSeam):
    """An RDS PostgreSQL instance that meets I10 on AWS.

    The instance is Multi-AZ, with a standby in another zone. Its storage and Performance
    Insights data are encrypted with the cell's key, and a parameter group forces TLS. Only
    the private subnets reach it. Automated backups are kept for the configured days. In
    production it has deletion protection, a final snapshot and Pulumi's `protect`. The
    credentials are also stored in a Secrets Manager secret encrypted with the cell's key.
    """

    def create(
        self,
        ctx: CellContext,
        spec: DatabaseSpec,
        network: CellNetwork,
        key: CellKey,
        password: pulumi.Output[str],
    ) -> CellDatabase:
        if not isinstance(network, AwsNetwork):
            raise TypeError(f"the AWS database seam needs an AwsNetwork, got {type(network)}")
        security_group = aws.ec2.SecurityGroup(
            ctx.resource_name("db-sg"),
            description=f"PostgreSQL of cell {ctx.cell}, reachable from its private subnets",
            vpc_id=network.network_id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": POSTGRES_PORT,
                    "to_port": POSTGRES_PORT,
                    "cidr_blocks": list(network.private_cidrs),
                    "description": "PostgreSQL from the cell's nodes and pods",
                }
            ],
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        subnet_group = aws.rds.SubnetGroup(
            ctx.resource_name("db-subnets"),
            subnet_ids=list(network.isolated_subnet_ids),
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        parameter_group = aws.rds.ParameterGroup(
            ctx.resource_name("db-params"),
            family=f"postgres{_major_version(spec.engine_version)}",
            parameters=[{"name": "rds.force_ssl", "value": "1"}],
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        instance = aws.rds.Instance(
            ctx.resource_name("db"),
            engine="postgres",
            engine_version=spec.engine_version,
            instance_class=spec.instance_class,
            allocated_storage=spec.storage_gb,
            max_allocated_storage=spec.max_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.key_id,
            multi_az=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            port=POSTGRES_PORT,
            db_name=spec.database_name,
            username=spec.username,
            password=password,
            iam_database_authentication_enabled=True,
            backup_retention_period=spec.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=ctx.production,
            skip_final_snapshot=not ctx.production,
            final_snapshot_identifier=(
                f"cellarch-{ctx.region}-{ctx.cell}-final" if ctx.production else None
            ),
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.key_id,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            auto_minor_version_upgrade=True,
            tags=ctx.labels(),
            opts=ctx.opts(protect=ctx.production, additional_secret_outputs=["password"]),
        )
        secret = aws.secretsmanager.Secret(
            ctx.resource_name("db-credentials"),
            description=f"PostgreSQL credentials of cell {ctx.cell}",
            kms_key_id=key.key_id,
            recovery_window_in_days=30 if ctx.production else 0,
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        aws.secretsmanager.SecretVersion(
            ctx.resource_name("db-credentials-version"),
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(
                pulumi.Output.all(instance.address, instance.port, password).apply(
                    lambda values: json.dumps(
                        {
                            "host": values[0],
                            "port": values[1],
                            "dbname": spec.database_name,
                            "username": spec.username,
                            "password": values[2],
                        }
                    )
                )
            ),
            opts=ctx.opts(additional_secret_outputs=["secretString"]),
        )
        return CellDatabase(
            host=instance.address,
            port=instance.port,
            database_name=pulumi.Output.from_input(spec.database_name),
            username=pulumi.Output.from_input(spec.username),
            password=pulumi.Output.secret(password),
        )


def _major_version(engine_version: str) -> str:
    match = re.match(r"(\d+)", engine_version)
    if match is None:
        raise ValueError(f"invalid PostgreSQL engine version {engine_version!r}")
    return match.group(1)
