"""The router's Lua filter: request checks, then the user's cell.

The filter rejects a request with a JSON error when its path, query string included, is
longer than max_path_bytes (414), or when the user-id header is repeated, contains a comma,
is missing or is empty (400). Otherwise it computes the user's cell with the rendezvous
hash of components.sidecar.cell_assignment and names it in CELL_HEADER, which the route
table matches. It removes any CELL_HEADER that the client sent first, so a client cannot
choose its cell. The cells' health path alone may come without a user id, and then it
carries no CELL_HEADER.
"""

import json

from components.sidecar.cell_assignment import FNV_OFFSET_BASIS, FNV_PRIME, cell_seed

LUA_FILTER = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
# Set by the router for its own route table; removed before a request reaches a cell.
CELL_HEADER = "x-router-cell"
# Dynamic metadata that names the user's cell, for the router's local replies.
CELL_METADATA_NAMESPACE = "cellarch.router"
CELL_METADATA_KEY = "cell"


def request_filter(
    cell_names: list[str], user_header: str, health_path: str, max_path_bytes: int
) -> dict:
    """Return the Lua HTTP filter that checks a request and names its cell."""
    code = _LUA
    for name, value in {
        "USER_HEADER": _lua_string(user_header),
        "CELL_HEADER": _lua_string(CELL_HEADER),
        "METADATA_NAMESPACE": _lua_string(CELL_METADATA_NAMESPACE),
        "METADATA_KEY": _lua_string(CELL_METADATA_KEY),
        "HEALTH_PATH": _lua_string(health_path),
        "MAX_PATH_BYTES": str(max_path_bytes),
        "FNV_OFFSET_BASIS": str(FNV_OFFSET_BASIS),
        "FNV_PRIME": str(FNV_PRIME),
        "CELLS": _lua_cells(cell_names),
        "TOO_LONG_BODY": _lua_string(
            _error_body(f"request path longer than {max_path_bytes} bytes")
        ),
        "REPEATED_BODY": _lua_string(
            _error_body(
                f"header {user_header} is repeated or contains a comma; "
                "send it once, without a comma"
            )
        ),
        "MISSING_BODY": _lua_string(
            _error_body(f"missing header {user_header}; send the user id in it")
        ),
    }.items():
        code = code.replace(f"@{name}@", value)
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {"@type": LUA_FILTER, "default_source_code": {"inline_string": code}},
    }


def _lua_cells(cell_names: list[str]) -> str:
    # Sorted by name, and the filter replaces the best cell only on a strictly higher
    # score, so a tie goes to the lower name as in cell_for_user.
    entries = (f"  {{{_lua_string(name)}, {cell_seed(name)}}},\n" for name in sorted(cell_names))
    return "{\n" + "".join(entries) + "}"


def _error_body(message: str) -> str:
    return json.dumps({"error": message})


def _lua_string(value: str) -> str:
    # Decimal escapes for quotes, backslashes and anything outside printable ASCII, so no
    # spec value can end the Lua string early.
    characters = (
        c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\{ord(c):03d}"
        for c in value
    )
    return '"' + "".join(characters) + '"'


# A user id is one header value, not empty and without a comma: a comma would make one
# value look like the list that HTTP makes of a repeated header. Route header matchers
# test each value of a repeated header on their own, so the filter counts the values.
# The path limit counts the query string too. The cells' health path needs no user id.
#
# LuaJIT numbers are doubles, so 32-bit arithmetic is done by hand. A product splits one
# factor into 16-bit halves, which keeps every intermediate value below 2^53 and exact.
# The bit library returns signed 32-bit numbers, which are taken modulo 2^32.
_LUA = """
local bit = require("bit")

local user_header = @USER_HEADER@
local cell_header = @CELL_HEADER@
local health_path = @HEALTH_PATH@
local max_path_bytes = @MAX_PATH_BYTES@
-- {cell name, FNV-1a hash of the name}, sorted by name.
local cells = @CELLS@

local TWO_32 = 4294967296

local function mul32(a, b)
  local low = b % 65536
  local high = (b - low) / 65536
  return (a * low + ((a * high) % 65536) * 65536) % TWO_32
end

local function xor32(a, b)
  return bit.bxor(a, b) % TWO_32
end

local function shr32(a, n)
  return bit.rshift(a, n) % TWO_32
end

local function fnv1a32(text)
  local value = @FNV_OFFSET_BASIS@
  for i = 1, #text do
    value = mul32(xor32(value, string.byte(text, i)), @FNV_PRIME@)
  end
  return value
end

local function fmix32(value)
  value = xor32(value, shr32(value, 16))
  value = mul32(value, 2246822507)
  value = xor32(value, shr32(value, 13))
  value = mul32(value, 3266489909)
  return xor32(value, shr32(value, 16))
end

local function cell_for_user(user_id)
  local user_hash = fnv1a32(user_id)
  local best_cell, best_score = nil, -1
  for _, cell in ipairs(cells) do
    local score = fmix32(xor32(user_hash, cell[2]))
    if score > best_score then
      best_cell, best_score = cell[1], score
    end
  end
  return best_cell
end

local function reject(handle, status, body)
  handle:respond({[":status"] = status, ["content-type"] = "application/json"}, body)
end

function envoy_on_request(handle)
  local headers = handle:headers()
  headers:remove(cell_header)
  local path = headers:get(":path") or ""
  if #path > max_path_bytes then
    return reject(handle, "414", @TOO_LONG_BODY@)
  end
  local count = headers:getNumValues(user_header)
  local route_path = string.match(path, "^[^?]*")
  if count == 0 and route_path == health_path then
    handle:clearRouteCache()
    return
  end
  if count > 1 or (count == 1 and string.find(headers:get(user_header), ",", 1, true)) then
    return reject(handle, "400", @REPEATED_BODY@)
  end
  if count == 0 or headers:get(user_header) == "" then
    return reject(handle, "400", @MISSING_BODY@)
  end
  local cell = cell_for_user(headers:get(user_header))
  headers:replace(cell_header, cell)
  handle:streamInfo():dynamicMetadata():set(@METADATA_NAMESPACE@, @METADATA_KEY@, cell)
  -- Envoy may have chosen a route before this filter ran, without the cell header.
  handle:clearRouteCache()
end
"""
