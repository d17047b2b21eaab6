"""GCP part of the key concern: a Cloud KMS key that only this cell uses."""

import pulumi_gcp as gcp

from components.cloud.base import CellContext, CellKey, KeySeam

_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
# Google-managed service agents that encrypt on the cell's behalf: Cloud SQL for the
# database disks, GKE for application-layer encryption of Kubernetes secrets.
_SERVICE_AGENTS = {"sql": "sqladmin.googleapis.com", "gke": "container.googleapis.com"}


class GcpKeySeam(KeySeam):
    """A key ring and a 90-day rotating key in the cell's region, usable by its services.

    Key rings cannot be deleted on GCP, so the ring is auto-named and a destroyed cell
    leaves an empty ring behind. Only the Cloud SQL and GKE service agents of the project
    get encrypt and decrypt rights, on this key alone (I6).
    """

    def create(self, ctx: CellContext) -> CellKey:
        ring = gcp.kms.KeyRing(
            ctx.resource_name("keyring"),
            location=ctx.cloud_region,
            project=ctx.project,
            opts=ctx.opts(),
        )
        key = gcp.kms.CryptoKey(
            ctx.resource_name("key"),
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{90 * 24 * 3600}s",
            labels=ctx.labels(),
            opts=ctx.opts(protect=ctx.production),
        )
        grants = []
        for role_name, service in _SERVICE_AGENTS.items():
            agent = gcp.projects.ServiceIdentity(
                ctx.resource_name(f"{role_name}-agent"),
                project=ctx.project,
                service=service,
                opts=ctx.opts(),
            )
            grants.append(
                gcp.kms.CryptoKeyIAMMember(
                    ctx.resource_name(f"key-{role_name}-agent"),
                    crypto_key_id=key.id,
                    role=_ENCRYPTER_DECRYPTER,
                    member=agent.member,
                    opts=ctx.opts(),
                )
            )
        return CellKey(key_id=key.id, resources=grants)
