"""Labels and tags that say which plane, region, cell and stack a resource belongs to (I11).

Every resource carries five labels: `plane`, `region`, `cell` (where it has one), `stack`
and `managed-by` with the value `cellarch`. Each target spells them its own way:

- AWS tags use the keys as they are: `plane`, `region`, `cell`, `stack`, `managed-by`.
- GCP labels use the same keys. Their values are lower-cased and every character outside
  `[a-z0-9_-]` becomes `-`, cut to 63 characters, because GCP rejects anything else.
- Kubernetes labels live under the `cellarch.io/` prefix (`cellarch.io/plane`, ...), except
  `managed-by`, which uses the well-known `app.kubernetes.io/managed-by`.
"""

import re
from dataclasses import dataclass, replace

from components.errors import ConfigError

PLANES = ("data", "control", "governance", "observability")
CLOUDS = ("aws", "gcp")
MANAGED_BY = "cellarch"

PLANE_KEY = "plane"
REGION_KEY = "region"
CELL_KEY = "cell"
STACK_KEY = "stack"
MANAGED_BY_KEY = "managed-by"

KUBERNETES_PREFIX = "cellarch.io/"
KUBERNETES_MANAGED_BY_KEY = "app.kubernetes.io/managed-by"

_GCP_INVALID = re.compile(r"[^a-z0-9_-]")
_GCP_MAX_LENGTH = 63
# Kubernetes label values: at most 63 characters, alphanumeric at both ends.
_KUBERNETES_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def check_plane(plane: str) -> str:
    if plane not in PLANES:
        raise ConfigError("plane", plane, "one of " + ", ".join(PLANES))
    return plane


@dataclass(frozen=True)
class LabelContext:
    """Where a resource sits: the region, the stack and, for cell resources, the cell."""

    region: str
    stack: str
    cell: str | None = None

    def for_cell(self, cell: str) -> "LabelContext":
        return replace(self, cell=cell)

    def common(self, plane: str) -> dict[str, str]:
        """Return the labels with their plain keys and values, in a fixed order."""
        labels = {PLANE_KEY: check_plane(plane), REGION_KEY: self.region}
        if self.cell is not None:
            labels[CELL_KEY] = self.cell
        labels[STACK_KEY] = self.stack
        labels[MANAGED_BY_KEY] = MANAGED_BY
        return labels

    def aws(self, plane: str) -> dict[str, str]:
        return self.common(plane)

    def gcp(self, plane: str) -> dict[str, str]:
        return {key: gcp_label_value(value) for key, value in self.common(plane).items()}

    def kubernetes(self, plane: str) -> dict[str, str]:
        labels = {}
        for key, value in self.common(plane).items():
            if key == MANAGED_BY_KEY:
                labels[KUBERNETES_MANAGED_BY_KEY] = value
            else:
                labels[KUBERNETES_PREFIX + key] = kubernetes_label_value(key, value)
        return labels

    def cloud(self, cloud: str, plane: str) -> dict[str, str]:
        """Return the labels spelled for `cloud` (`aws` or `gcp`)."""
        if cloud == "aws":
            return self.aws(plane)
        if cloud == "gcp":
            return self.gcp(plane)
        raise ConfigError("cloud", cloud, "one of " + ", ".join(CLOUDS))


def gcp_label_value(value: str) -> str:
    return _GCP_INVALID.sub("-", value.lower())[:_GCP_MAX_LENGTH]


def kubernetes_label_value(key: str, value: str) -> str:
    if not _KUBERNETES_VALUE.match(value):
        raise ConfigError(
            KUBERNETES_PREFIX + key,
            value,
            "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
        )
    return value
