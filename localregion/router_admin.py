"""Read the router Envoy's view of its cells from its admin interface."""

import httpx

from components.sidecar.envoy_router import CELL_CLUSTER_PREFIX


def cell_health(admin_url: str) -> dict[str, bool]:
    """Return, per cell name, whether the router serves the cell's users now.

    The router has one cluster per cell with the cell as its only host. A cell is served
    when its last active health checks passed and outlier detection has not ejected it.
    An unreachable admin interface gives {}.
    """
    try:
        response = httpx.get(f"{admin_url}/clusters?format=json", timeout=2.0, trust_env=False)
        statuses = response.json().get("cluster_statuses", [])
    except (httpx.HTTPError, ValueError):
        return {}
    health: dict[str, bool] = {}
    for cluster in statuses:
        name = cluster.get("name", "")
        if not name.startswith(CELL_CLUSTER_PREFIX):
            continue
        hosts = cluster.get("host_statuses", [])
        cell = name.removeprefix(CELL_CLUSTER_PREFIX)
        health[cell] = bool(hosts) and all(_is_healthy(host) for host in hosts)
    return health


def _is_healthy(host: dict) -> bool:
    status = host.get("health_status", {})
    # Every other member of health_status is a failure flag, e.g.
    # failed_active_health_check or failed_outlier_check.
    failures = [key for key, value in status.items() if key != "eds_health_status" and value]
    return status.get("eds_health_status") == "HEALTHY" and not failures
