"""Deterministic identifiers for mock resources, derived from the resource's URN.

The same program and config always get the same IDs, so two inventories of one stack diff
cleanly.
"""

import hashlib
import uuid


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def hex_id(seed: str, length: int = 17) -> str:
    return digest(seed)[:length]


def uuid_id(seed: str) -> str:
    return str(uuid.UUID(digest(seed)[:32]))


def number_id(seed: str, digits: int) -> str:
    value = int(digest(seed), 16)
    return str(value)[:digits].rjust(digits, "1")


def auto_name(logical_name: str, seed: str, max_length: int = 63) -> str:
    """Return a physical name as Pulumi's autonaming makes it: the logical name and 7 hex."""
    return f"{logical_name[: max_length - 8]}-{hex_id(seed, 7)}"


def public_ip(seed: str) -> str:
    # 203.0.113.0/24 is TEST-NET-3 (RFC 5737): realistic, and routes nowhere.
    return f"203.0.113.{int(digest(seed)[:2], 16) % 254 + 1}"


def private_ip(seed: str) -> str:
    value = int(digest(seed)[:6], 16)
    return f"10.{value >> 16 & 255}.{value >> 8 & 255}.{value & 253 + 1}"
