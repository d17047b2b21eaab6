"""Read the router Envoy's view of its cells from its admin interface."""

import httpx

CELLS_CLUSTER = "cells"


def cell_health(admin_url: str) -> dict[str, bool]:
    """Return, per cell name, whether the router has the cell on its ring now.

    A cell is on the ring when its last active health checks passed and outlier
    detection has not ejected it. An unreachable admin interface gives {}.
    """
    try:
        response = httpx.get(f"{admin_url}/clusters?format=json", timeout=2.0, trust_env=False)
        statuses = response.json().get("cluster_statuses", [])
    except (httpx.HTTPError, ValueError):
        return {}
    health: dict[str, bool] = {}
    for cluster in statuses:
        if cluster.get("name") != CELLS_CLUSTER:
            continue
        for host in cluster.get("host_statuses", []):
            status = host.get("health_status", {})
            # Every other member of health_status is a failure flag, e.g.
            # failed_active_health_check or failed_outlier_check.
            failures = [
                key for key, value in status.items() if key != "eds_health_status" and value
            ]
            health[host.get("hostname", "")] = (
                status.get("eds_health_status") == "HEALTHY" and not failures
            )
    return health
