# Route allow-list matching on whole segments, and rejection of non-canonical paths.
package envoy.authz_test

import data.envoy.authz

test_success_route_by_caller[name] if {
	some name, case in {
		"orders-web GET /v1/orders": ["orders-web", "GET", "/v1/orders"],
		"orders-web POST /v1/orders/42": ["orders-web", "POST", "/v1/orders/42"],
		"billing GET /v1/orders/42": ["billing", "GET", "/v1/orders/42"],
		"billing GET /v1/invoices": ["billing", "GET", "/v1/invoices"],
		"auditor GET /v1/profiles/7": ["auditor", "GET", "/v1/profiles/7"],
		"auditor GET /": ["auditor", "GET", "/"],
		"support GET /v1/profiles/7": ["support", "GET", "/v1/profiles/7"],
		"query string ignored": ["orders-web", "GET", "/v1/orders?limit=10&after=42"],
	}
	[caller, method, path] := case
	authz.result == allowed_for(caller) with input as request(method, path, bearer(caller))
		with data.authz as authz_data
}

test_fail_route_denied[name] if {
	some name, case in {
		"sibling segment /v1/ordersX": ["orders-web", "GET", "/v1/ordersX"],
		"parent of prefix /v1": ["orders-web", "GET", "/v1"],
		"method not listed": ["billing", "POST", "/v1/orders"],
		"lower-case method": ["orders-web", "get", "/v1/orders"],
		"upper-case path": ["orders-web", "GET", "/V1/orders"],
		"auditor POST": ["auditor", "POST", "/v1/orders"],
		"support on orders": ["support", "GET", "/v1/orders"],
		"caller without routes": ["unknown-service", "GET", "/v1/orders"],
		"health path with POST": ["orders-web", "POST", "/healthz"],
	}
	[caller, method, path] := case
	authz.result == denied(403, "forbidden", "default-deny") with input as request(method, path, bearer(caller))
		with data.authz as authz_data
}

test_fail_non_canonical_path[path] if {
	some path in {
		"/v1/orders/../invoices",
		"/v1/orders/./42",
		"/v1/orders/...",
		"/v1//orders",
		"/v1/orders/",
		"//v1/orders",
		"/v1/orders%2F42",
		"/v1/orders%2f42",
		"/v1/%6Frders",
		"/v1/orders/..;/invoices",
		"/v1/orders;x=1",
		"/v1/orders\\42",
		"/v1/orders/42#fragment",
		"v1/orders",
		"",
		"/v1/orders 42",
	}
	authz.result == denied(400, "bad_request", "path-not-canonical") with input as request("GET", path, bearer("auditor"))
		with data.authz as authz_data
}

test_success_health_paths[path] if {
	some path in {"/healthz", "/readyz", "/healthz?verbose=1"}
	authz.reason == "health" with input as request("GET", path, {})
		with data.authz as authz_data
}

test_fail_health_lookalike_needs_token[path] if {
	some path in {"/healthz/x", "/healthzX", "/Healthz"}
	authz.reason == "token-missing" with input as request("GET", path, {})
		with data.authz as authz_data
}
