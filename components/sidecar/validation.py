"""Field checks shared by the spec dataclasses; each raises SpecError on a bad value."""

import ipaddress
import re
from dataclasses import dataclass

from components.sidecar.errors import SpecError

# A DNS label, so that the same name works as a Kubernetes object name and an Envoy host name.
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_JURISDICTION = re.compile(r"^[a-z]{2,12}$")
# sun_path holds 108 bytes on Linux, including the terminating NUL.
MAX_UNIX_SOCKET_PATH_BYTES = 107


def check_name(spec: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise SpecError(
            spec, field, value, "a DNS label: lower-case letters, digits and '-', at most 63"
        )
    return value


def check_jurisdiction(spec: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not _JURISDICTION.match(value):
        raise SpecError(spec, field, value, "2 to 12 lower-case letters, e.g. 'eu' or 'us'")
    return value


def check_port(spec: str, field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SpecError(spec, field, value, "an integer port from 1 to 65535")
    return value


def check_int_range(spec: str, field: str, value: object, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(spec, field, value, f"an integer from {low} to {high} ({unit})")
    return value


def check_host(spec: str, field: str, value: object) -> str:
    """Accept an IP address or a DNS host name."""
    if not isinstance(value, str) or not value:
        raise SpecError(spec, field, value, "an IP address or a DNS host name")
    if is_ip_address(value):
        return value
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_NAME.match(label) for label in labels):
        raise SpecError(spec, field, value, "an IP address or a DNS host name")
    return value


def check_loopback_ip(spec: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not is_ip_address(value) or not is_loopback(value):
        raise SpecError(spec, field, value, "a loopback IP address such as '127.0.0.1'")
    return value


def check_absolute_path(spec: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise SpecError(spec, field, value, "an absolute file path")
    return value


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    return is_ip_address(host) and ipaddress.ip_address(host).is_loopback


@dataclass(frozen=True)
class Endpoint:
    """A parsed `host:port` or `unix:///path` address."""

    host: str = ""
    port: int = 0
    unix_path: str = ""

    @property
    def is_unix(self) -> bool:
        return bool(self.unix_path)


def parse_endpoint(spec: str, field: str, value: object, *, loopback_only: bool) -> Endpoint:
    """Parse `host:port`, `[v6]:port` or `unix:///absolute/path`.

    With loopback_only, a TCP host must be a loopback address, because the sidecar's
    authorization call and the agent's data API never leave the pod.
    """
    tcp = "'127.0.0.1:PORT'" if loopback_only else "'HOST:PORT'"
    accepted = f"{tcp} or 'unix:///absolute/path.sock'"
    if not isinstance(value, str):
        raise SpecError(spec, field, value, accepted)
    if value.startswith("unix://"):
        path = value.removeprefix("unix://")
        if not path.startswith("/"):
            raise SpecError(spec, field, value, accepted)
        if len(path.encode()) > MAX_UNIX_SOCKET_PATH_BYTES:
            raise SpecError(
                spec,
                field,
                value,
                f"a unix socket path of at most {MAX_UNIX_SOCKET_PATH_BYTES} bytes",
            )
        return Endpoint(unix_path=path)

    host, sep, port_text = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit():
        raise SpecError(spec, field, value, accepted)
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise SpecError(spec, field, value, f"{accepted}, with a port from 1 to 65535")
    if loopback_only and not (is_ip_address(host) and is_loopback(host)):
        raise SpecError(spec, field, value, f"{accepted}; it must stay on loopback")
    if not loopback_only:
        check_host(spec, field, host)
    return Endpoint(host=host, port=port)
