# METADATA
# title: Request authorization for cell services
# description: |
#   Decides each request that a cell's Envoy sidecar sends to the pod's policy agent
#   through the ext_authz filter. The input document has the opa-envoy-plugin shape, and
#   the routes, revoked callers, health paths, residency rules and token issuers come
#   from the bundle's data under data.authz, so a new allow-list is a data change only.
# authors:
#   - cell-architecture maintainers
package envoy.authz

# METADATA
# title: Decision
# description: |
#   The object that the sidecar enforces, in the shape opa-envoy-plugin accepts. The
#   x-authz-reason header names the rule that decided. For an allowed request, headers
#   go to the upstream service and response_headers_to_add go to the client. For a
#   denied request, Envoy returns http_status, headers and body to the client.
# entrypoint: true
default result := {
	"allowed": false,
	"http_status": 403,
	"headers": {"content-type": "application/json", "x-authz-reason": "default-deny"},
	"response_headers_to_add": {"x-authz-reason": "default-deny"},
	"body": "{\"error\":\"forbidden\",\"reason\":\"default-deny\"}",
}

result := {
	"allowed": true,
	"headers": upstream_headers,
	"response_headers_to_add": {"x-authz-reason": reason},
} if {
	reason in allowing_reasons
}

result := {
	"allowed": false,
	"http_status": status,
	"headers": object.union(denial_headers, challenge_headers),
	"response_headers_to_add": {"x-authz-reason": reason},
	"body": concat("", ["{\"error\":\"", denial_errors[status], "\",\"reason\":\"", reason, "\"}"]),
} if {
	status := denial_statuses[reason]
}

# METADATA
# description: |
#   Name of the rule that decides the request. The rules are tried in this order, and
#   the first that matches wins, so a health probe needs no token and a revoked caller
#   is denied even on a route it is allowed.
reason := "health" if {
	health_request
} else := "path-not-canonical" if {
	not canonical_path
} else := "token-missing" if {
	not peer_spiffe_id
	not input.attributes.request.http.headers.authorization
} else := "token-invalid" if {
	not caller
} else := "revoked" if {
	caller in data.authz.revoked
} else := "residency" if {
	not residency_allowed
} else := "allowed" if {
	route_allowed
} else := "default-deny"

allowing_reasons := {"health", "allowed"}

denial_statuses := {
	"path-not-canonical": 400,
	"token-missing": 401,
	"token-invalid": 401,
	"revoked": 403,
	"residency": 403,
	"default-deny": 403,
}

denial_errors := {400: "bad_request", 401: "unauthorized", 403: "forbidden"}

# The body is written out rather than built with json.marshal, because the WebAssembly
# build of json.marshal keeps the key order of the literal while the Rego evaluator
# sorts keys, and the agent's answer must not depend on which of the two produced it.

denial_headers := {"content-type": "application/json", "x-authz-reason": reason}

# RFC 6750 asks a server that rejects a bearer token to name the scheme it expects.
challenge_headers := {"www-authenticate": "Bearer"} if {
	denial_statuses[reason] == 401
} else := {}

# The upstream service learns who called it. Envoy replaces any x-authz-caller header
# that the client sent, because ext_authz headers overwrite by default.
upstream_headers := {"x-authz-caller": caller} if {
	reason == "allowed"
} else := {}
