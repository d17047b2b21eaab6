"""Assign a user to one cell by rendezvous (highest random weight) hashing.

Every configured cell gets a score for the user, score(cell) = fmix32(fnv1a32(user id) XOR
seed(cell)) with seed(cell) = fnv1a32(cell name), and the highest score wins. On a tie the
lower cell name wins. The router's Lua filter computes the same function, with the seeds
that this module computes embedded in its source, and this module is the reference that
tests compare the router with.

The assignment depends only on the configured cell names, never on the cells' health, so
a failing cell moves none of its users elsewhere. Adding a cell to N cells moves about
1/(N+1) of the users, all of them to the new cell.
"""

from collections.abc import Sequence

FNV_OFFSET_BASIS = 0x811C9DC5
FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def fnv1a32(data: bytes) -> int:
    """Hash data with 32-bit FNV-1a."""
    value = FNV_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & _MASK
    return value


def fmix32(value: int) -> int:
    """Mix the bits of a 32-bit value with MurmurHash3's finalizer."""
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & _MASK
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & _MASK
    value ^= value >> 16
    return value


def cell_seed(cell_name: str) -> int:
    """Return the seed of a cell: the FNV-1a hash of its name in UTF-8."""
    return fnv1a32(cell_name.encode())


def cell_score(user_id: str, cell_name: str) -> int:
    """Return the score of a cell for a user; the cell with the highest score serves them."""
    return fmix32(fnv1a32(user_id.encode()) ^ cell_seed(cell_name))


def cell_for_user(user_id: str, cell_names: Sequence[str]) -> str:
    """Return the name of the cell that the router assigns user_id to."""
    if not cell_names:
        raise ValueError("no cell to assign the user to: cell_names is empty")
    # Sorted names and a strict comparison give a tie to the lower name.
    return max(sorted(cell_names), key=lambda name: cell_score(user_id, name))
