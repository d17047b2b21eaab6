"""The data of the local region's bundle: callers, their routes, revocations, residency.

The policy reads it under data.authz. The issuer entry is added by the bundle build,
from the issuer key that the region generates at bring-up.
"""

import copy

ROUTES = {
    "orders-web": [{"methods": ["GET", "POST", "DELETE"], "path_prefix": "/v1/orders"}],
    "billing": [
        {"methods": ["GET"], "path_prefix": "/v1/invoices"},
        {"methods": ["GET"], "path_prefix": "/v1/orders"},
    ],
    "profile-app": [{"methods": ["GET", "PUT"], "path_prefix": "/v1/profiles"}],
    "support": [{"methods": ["GET"], "path_prefix": "/v1/profiles"}],
    "legacy-batch": [{"methods": ["GET", "POST"], "path_prefix": "/v1/orders"}],
}
REVOKED = ["legacy-batch"]
HEALTH_PATHS = ["/healthz", "/readyz"]
# Data tagged eu may be processed only in cells of the eu jurisdiction.
RESIDENCY = {"eu": ["eu"]}


def authz_data() -> dict:
    """Return the initial data.authz, without issuers."""
    return {
        "routes": copy.deepcopy(ROUTES),
        "revoked": list(REVOKED),
        "health_paths": list(HEALTH_PATHS),
        "residency": copy.deepcopy(RESIDENCY),
    }
