"""Parts of the ObservabilityStack: the collector gateway's config, Prometheus and dashboards."""
