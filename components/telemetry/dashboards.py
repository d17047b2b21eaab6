"""Grafana dashboards of the four planes, as code.

Each dashboard is a plain dict in Grafana's JSON model, built from PromQL over the
metrics the sidecars, agents, collectors and clusters export. They are shipped as
ConfigMaps that Grafana's dashboard sidecar loads (label `grafana_dashboard: "1"`).
"""

import json

PLANES = ("data", "control", "governance", "observability")


def _panel(panel_id: int, title: str, expression: str, unit: str, x: int, y: int) -> dict:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expression, "legendFormat": "{{cell}}"}],
    }


# `{S}` stands for the region selector that every expression filters on.
_SELECTOR = '{region="$region"}'
_PANELS = {
    "data": [
        (
            "Requests per second by cell",
            "sum by (cell) (rate(envoy_http_downstream_rq_total{S}[5m]))",
            "reqps",
        ),
        (
            "p99 latency by cell",
            "histogram_quantile(0.99, sum by (cell, le) "
            "(rate(envoy_http_downstream_rq_time_bucket{S}[5m])))",
            "ms",
        ),
        (
            "5xx ratio by cell",
            "sum by (cell) (rate(envoy_http_downstream_rq_5xx{S}[5m])) "
            "/ sum by (cell) (rate(envoy_http_downstream_rq_total{S}[5m]))",
            "percentunit",
        ),
        (
            "Authorization denials by cell",
            "sum by (cell) (rate(envoy_http_ext_authz_denied{S}[5m]))",
            "reqps",
        ),
    ],
    "control": [
        ("Nodes by pool", "sum by (cell, cellarch_io_pool) (kube_node_labels{S})", "short"),
        (
            "Pod restarts by cell",
            "sum by (cell) (increase(kube_pod_container_status_restarts_total{S}[1h]))",
            "short",
        ),
        (
            "Replicas wanted by the autoscalers",
            "sum by (cell) (kube_horizontalpodautoscaler_status_desired_replicas{S})",
            "short",
        ),
        ("Shock-absorber backlog", "sum(cellarch_queue_messages_visible{S})", "short"),
    ],
    "governance": [
        (
            "Bundle activations by cell",
            "sum by (cell) (increase(bundle_loaded_counter{S}[1h]))",
            "short",
        ),
        (
            "Bundle download failures by cell",
            "sum by (cell) (increase(bundle_failed_load_counter{S}[1h]))",
            "short",
        ),
        (
            "Seconds since the last bundle activation",
            "time() - max by (cell) (last_success_bundle_activation{S} / 1e9)",
            "s",
        ),
        (
            "Decision latency p99 by cell",
            "histogram_quantile(0.99, sum by (cell, le) "
            "(rate(envoy_ext_authz_wasm_decision_seconds_bucket{S}[5m])))",
            "s",
        ),
    ],
    "observability": [
        (
            "Collector queue fill",
            "max by (cell) (otelcol_exporter_queue_size{S} / otelcol_exporter_queue_capacity{S})",
            "percentunit",
        ),
        (
            "Points dropped by the exporters",
            "sum by (cell) (rate(otelcol_exporter_send_failed_metric_points_total{S}[5m]))",
            "short",
        ),
        (
            "Points refused by the memory limiter",
            "sum by (cell) (rate(otelcol_processor_refused_metric_points_total{S}[5m]))",
            "short",
        ),
        ("Collector memory", "max by (cell) (otelcol_process_memory_rss_bytes{S})", "bytes"),
    ],
}


def plane_dashboard(plane: str, region: str) -> dict:
    """Return the dashboard of `plane` for `region`."""
    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}; expected one of {PLANES}")
    panels = [
        _panel(
            index + 1,
            title,
            expression.replace("{S}", _SELECTOR),
            unit,
            x=(index % 2) * 12,
            y=(index // 2) * 8,
        )
        for index, (title, expression, unit) in enumerate(_PANELS[plane])
    ]
    return {
        "uid": f"cellarch-{plane}-{region}"[:40],
        "title": f"{plane.capitalize()} plane - {region}",
        "tags": ["cellarch", plane],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {"name": "region", "type": "constant", "query": region, "hide": 2},
            ]
        },
        "panels": panels,
    }


def plane_dashboard_json(plane: str, region: str) -> str:
    return json.dumps(plane_dashboard(plane, region), indent=2, sort_keys=True)
