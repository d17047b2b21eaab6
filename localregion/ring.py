"""Predict which cell the router sends a user to, as Envoy's ring hash computes it.

This follows Envoy 1.40's RingHashLoadBalancer with the router's configuration: equal
host weights, minimum_ring_size entries at least, xxHash64, every host keyed by its
`envoy.lb` hash_key metadata (the cell name), and the request hashed by the xxHash64 of
its x-user-id header. Only cells that pass health checks are on the ring.
"""

import bisect
import math
from collections.abc import Sequence

import xxhash

DEFAULT_MINIMUM_RING_SIZE = 1024
DEFAULT_MAXIMUM_RING_SIZE = 8 * 1024 * 1024


def build_ring(
    cell_names: Sequence[str], minimum_ring_size: int = DEFAULT_MINIMUM_RING_SIZE
) -> list[tuple[int, str]]:
    """Return the ring as (hash, cell name) entries sorted by hash."""
    if not cell_names:
        return []
    # Float arithmetic in the same order as Envoy, so that the running sums decide the
    # number of entries per cell exactly as there.
    weight = 1.0 / len(cell_names)
    scale = min(math.ceil(weight * minimum_ring_size) / weight, float(DEFAULT_MAXIMUM_RING_SIZE))
    ring: list[tuple[int, str]] = []
    current_hashes = 0.0
    target_hashes = 0.0
    for name in cell_names:
        target_hashes += scale * weight
        index = 0
        while current_hashes < target_hashes:
            ring.append((xxhash.xxh64_intdigest(f"{name}_{index}".encode()), name))
            index += 1
            current_hashes += 1
    ring.sort(key=lambda entry: entry[0])
    return ring


def cell_for_user(
    user_id: str,
    cell_names: Sequence[str],
    minimum_ring_size: int = DEFAULT_MINIMUM_RING_SIZE,
) -> str:
    """Return the name of the cell that the router picks for user_id."""
    ring = build_ring(cell_names, minimum_ring_size)
    if not ring:
        raise ValueError("no cell to route to: cell_names is empty")
    request_hash = xxhash.xxh64_intdigest(user_id.encode())
    # The first entry whose hash is at least the request's, wrapping to the first entry.
    position = bisect.bisect_left(ring, (request_hash, ""))
    return ring[position % len(ring)][1]
