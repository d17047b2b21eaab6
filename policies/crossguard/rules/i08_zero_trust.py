"""I8 Zero trust: service-to-service traffic uses mTLS with workload identities (SPIFFE IDs),
and every request is authorized, internal ones included."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..findings import Findings
from ..view.collector import OtlpEndpoint, is_collector_config, parse_collector_config
from ..view.envoy import EnvoyBootstrap, TlsContext, is_loopback
from ..view.graph import StackView
from ..view.model import ConfigMap, Ingress, Record, Workload
from ..view.pods import is_data_plane, pod_configs
from ..view.services import exposures, unknown_services
from .base import MANDATORY, Rule
from .i02_no_synchronous_call import config_map_documents

SPIFFE_SCHEME = "spiffe://"


def _checks_spiffe_ids(tls: TlsContext) -> bool:
    return any(
        san_type == "URI" and pattern.startswith(SPIFFE_SCHEME)
        for san_type, _, pattern in tls.san_matchers
    )


def listener_problems(
    bootstrap: EnvoyBootstrap, external_ports: set[int], internal_ports: set[int]
) -> list[str]:
    """Return what lets a connection into the pod without the right TLS.

    A listener that only external Services reach (the cell's ingress) needs TLS; every
    other listener bound outside loopback needs mTLS that checks a SPIFFE ID.
    """
    problems = []
    for listener in bootstrap.listeners:
        if listener.endpoint.is_local:
            continue
        port = listener.endpoint.port
        edge_only = port in external_ports and port not in internal_ports
        for chain in listener.chains:
            tls = chain.tls
            if tls is None or not tls.has_certificate:
                problems.append(f"listener {listener.name} accepts connections without TLS")
                continue
            if edge_only:
                continue
            if not tls.require_client_certificate:
                problems.append(
                    f"listener {listener.name} does not require a client certificate, so "
                    "callers are not identified"
                )
            elif not _checks_spiffe_ids(tls):
                problems.append(
                    f"listener {listener.name} accepts client certificates without checking "
                    "a SPIFFE ID"
                )
    return problems


def upstream_problems(bootstrap: EnvoyBootstrap, ingress_hosts: set[str]) -> list[str]:
    """Return the clusters that leave the pod without the TLS they need.

    A cluster whose every endpoint is the ingress of a cell of this stack (a router calling
    cells) needs TLS, because that ingress takes clients without a workload identity. Every
    other cluster that leaves the pod needs mTLS that checks the callee's SPIFFE ID.
    """
    problems = []
    for cluster in bootstrap.clusters.values():
        if all(endpoint.is_local for endpoint in cluster.endpoints):
            continue  # The pod's agent and the SPIRE agent socket.
        if cluster.endpoints and all(e.host in ingress_hosts for e in cluster.endpoints):
            if cluster.tls is None:
                problems.append(f"cluster {cluster.name} calls cell ingress without TLS")
            continue
        if cluster.tls is None or not cluster.tls.has_certificate:
            problems.append(f"cluster {cluster.name} calls another workload without mTLS")
        elif not _checks_spiffe_ids(cluster.tls):
            problems.append(f"cluster {cluster.name} does not check the callee's SPIFFE ID")
    return problems


def ingress_hosts(view: StackView) -> set[str]:
    return {
        address
        for ingress in view.records(Ingress)
        for address in ingress.addresses
        if isinstance(address, str)
    }


def check_mtls(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    hosts = ingress_hosts(view)
    for workload in view.records(Workload):
        configs = pod_configs(view, workload)
        if not configs.sidecars:
            for item in configs.unknown:
                findings.unknown(workload.ref.title, item)
            continue
        for service in unknown_services(view, workload):
            findings.unknown(workload.ref.title, f"selector and ports of {service}")
        exposed = exposures(view, workload)
        external = {e.container_port for e in exposed if e.external}
        internal = {e.container_port for e in exposed if not e.external}
        for sidecar, bootstrap in configs.sidecars:
            problems = listener_problems(bootstrap, external, internal)
            problems += upstream_problems(bootstrap, hosts)
            for problem in problems:
                findings.violation(
                    f"{workload.ref.title}: sidecar {sidecar.name}: {problem}", workload.ref.urn
                )


def check_requests_pass_sidecar(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    for workload in view.records(Workload):
        if not is_data_plane(workload, findings):
            continue
        configs = pod_configs(view, workload)
        for item in configs.unknown:
            findings.unknown(workload.ref.title, item)
        if configs.unknown:
            continue
        sidecar_ports = {
            (sidecar.name, listener.endpoint.port)
            for sidecar, bootstrap in configs.sidecars
            for listener in bootstrap.listeners
            if not listener.endpoint.is_local
        }
        for service in unknown_services(view, workload):
            findings.unknown(workload.ref.title, f"selector and ports of {service}")
        for exposure in exposures(view, workload):
            container = exposure.container
            name = container.name if container is not None else None
            if (name, exposure.container_port) in sidecar_ports:
                continue
            target = f"container {name}" if name else "no container port"
            findings.violation(
                f"{workload.ref.title}: {exposure.service.ref.title} port {exposure.port.port} "
                f"targets {exposure.port.target_port} ({target}), not a listener of the sidecar, "
                "so its requests skip authorization",
                workload.ref.urn,
            )


def _split(address: str):
    return urlsplit(address if "://" in address else f"tcp://{address}")


def _has(tls: Mapping[str, Any], *keys: str) -> bool:
    return any(isinstance(tls.get(key), str) and tls.get(key) for key in keys)


def _is_true(value: Any) -> bool:
    """Return whether a YAML setting is on, also when written as the string "true"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def otlp_tls_problems(endpoints: tuple[OtlpEndpoint, ...]) -> list[str]:
    """Return each OTLP hop outside loopback that lacks mutual TLS.

    An exporter needs TLS that verifies the server, and a client certificate. A receiver
    needs a server certificate and a client CA, because the CA makes it require client
    certificates.
    """
    problems = []
    for endpoint in endpoints:
        # Without an address, the receiver listens on localhost (collector v0.104 and later).
        if endpoint.address is None:
            continue
        address = _split(endpoint.address)
        if is_loopback(address.hostname):
            continue
        tls = endpoint.tls or {}
        where = f"{endpoint.role} {endpoint.name} at {endpoint.address}"
        if endpoint.role == "exporter":
            if _is_true(tls.get("insecure")) or address.scheme.lower() == "http":
                problems.append(f"{where} sends without TLS")
            elif _is_true(tls.get("insecure_skip_verify")):
                problems.append(f"{where} does not verify the server's certificate")
            elif not (_has(tls, "cert_file", "cert_pem") and _has(tls, "key_file", "key_pem")):
                problems.append(f"{where} presents no client certificate")
        elif not _has(tls, "cert_file", "cert_pem"):
            problems.append(f"{where} accepts OTLP without TLS")
        elif not _has(tls, "client_ca_file"):
            problems.append(f"{where} does not require client certificates (no client_ca_file)")
    return problems


def check_telemetry_mtls(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if not is_collector_config(document):
                continue
            config = parse_collector_config(document)
            for problem in otlp_tls_problems(config.otlp_endpoints):
                findings.violation(f"{config_map.ref.title} ({key}): {problem}")


RULES = [
    Rule(
        name="i08-mesh-mtls",
        invariant="I8",
        description=(
            "Sidecars accept and make service-to-service connections only over mTLS that checks "
            "SPIFFE IDs."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "each workload's Envoy: TLS on every listener outside loopback; a "
            "client certificate checked against a spiffe:// URI SAN on every listener an "
            "internal Service reaches; mTLS with a SPIFFE ID check on every cluster that "
            "leaves the pod, TLS on a cluster whose endpoints are cell ingress addresses",
        },
        stack_check=check_mtls,
    ),
    Rule(
        name="i08-requests-pass-sidecar",
        invariant="I8",
        description=(
            "Every Service that reaches a data-plane workload targets its sidecar, so every "
            "request is authorized."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "Services selecting data-plane pods: each target port is a "
            "listener of the Envoy sidecar, never the service container's port",
        },
        stack_check=check_requests_pass_sidecar,
    ),
    Rule(
        name="i08-telemetry-mtls",
        invariant="I8",
        description=(
            "Collectors send and accept OTLP outside loopback only over mutual TLS, so only the "
            "region's cells can feed its gateway."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "collector configurations in ConfigMaps: every OTLP exporter to an "
            "address outside loopback verifies the server and presents a client certificate; "
            "every OTLP receiver outside loopback has a certificate and a client_ca_file",
        },
        resource_check=check_telemetry_mtls,
    ),
]
