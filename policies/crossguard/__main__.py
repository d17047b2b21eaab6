"""Entry point of the policy pack, run by `pulumi preview --policy-pack policies/crossguard`.

The CLI runs this file as a script from the pack's directory, so the repository root is put
on the import path to import the pack as the package `policies.crossguard`. `PolicyPack`
serves the engine over gRPC and never returns, which is why nothing else constructs it.
"""

import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
if str(REPOSITORY_ROOT) not in sys.path:
    sys.path.insert(0, str(REPOSITORY_ROOT))

from pulumi_policy import PolicyPack  # noqa: E402

from policies.crossguard.pack import (  # noqa: E402
    PACK_DESCRIPTION,
    PACK_ENFORCEMENT_LEVEL,
    PACK_NAME,
    policies,
)

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=PACK_ENFORCEMENT_LEVEL,
    description=PACK_DESCRIPTION,
)
