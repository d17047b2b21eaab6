"""Conversion of the property values a program sends to the engine into plain JSON values.

The SDK encodes secrets, assets, archives, resource references and output values as maps
tagged with a signature key. The recording keeps what a policy or a test needs to see:
secrets become their value (their names are listed apart), resource references become
their URN, and assets and archives keep their source.
"""

from typing import Any

from google.protobuf import json_format, struct_pb2

# Signatures from the Pulumi property value encoding (sdk/python/lib/pulumi/runtime/rpc.py).
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIGNATURE = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIGNATURE = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_SIGNATURE = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIGNATURE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct) if struct is not None else {}


def plain(value: Any) -> tuple[Any, bool]:
    """Return the plain form of a wire value and whether it contained a secret."""
    if isinstance(value, list):
        items = [plain(item) for item in value]
        return [item for item, _ in items], any(secret for _, secret in items)
    if not isinstance(value, dict):
        return _whole_number(value), False

    signature = value.get(SIGNATURE_KEY)
    if signature == SECRET_SIGNATURE:
        inner, _ = plain(value.get("value"))
        return inner, True
    if signature == OUTPUT_SIGNATURE:
        inner, secret = plain(value.get("value", UNKNOWN))
        return inner, secret or bool(value.get("secret"))
    if signature == RESOURCE_SIGNATURE:
        return value.get("urn"), False
    if signature == ASSET_SIGNATURE:
        return {"asset": _source(value)}, False
    if signature == ARCHIVE_SIGNATURE:
        return {"archive": _source(value)}, False

    converted = {key: plain(item) for key, item in value.items()}
    return (
        {key: item for key, (item, _) in converted.items()},
        any(secret for _, secret in converted.values()),
    )


def plain_properties(struct: struct_pb2.Struct) -> tuple[dict[str, Any], list[str]]:
    """Return the plain properties and the names of the top-level ones holding a secret."""
    properties: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in struct_to_dict(struct).items():
        properties[key], secret = plain(value)
        if secret:
            secrets.append(key)
    return properties, secrets


def _source(value: dict[str, Any]) -> dict[str, Any]:
    return {key: value[key] for key in ("path", "text", "uri", "assets") if key in value}


def _whole_number(value: Any) -> Any:
    # protobuf Struct holds every number as a double; the engine sends integers as such.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
