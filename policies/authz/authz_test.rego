# Whole decisions of envoy.authz.result, one per rule that can decide.
package envoy.authz_test

import data.envoy.authz

test_success_orders_web_posts_order if {
	authz.result == allowed_for("orders-web") with input as request("POST", "/v1/orders", bearer("orders-web"))
		with data.authz as authz_data
}

test_success_health_probe_without_token if {
	authz.result == {
		"allowed": true,
		"headers": {},
		"response_headers_to_add": {"x-authz-reason": "health"},
	} with input as request("GET", "/healthz", {})
		with data.authz as authz_data
}

test_fail_path_not_canonical if {
	authz.result == denied(400, "bad_request", "path-not-canonical") with input as request("GET", "/v1/orders/../invoices", bearer("billing"))
		with data.authz as authz_data
}

test_fail_token_missing if {
	authz.result == unauthorized("token-missing") with input as request("GET", "/v1/orders", {})
		with data.authz as authz_data
}

test_fail_token_invalid if {
	authz.result == unauthorized("token-invalid") with input as request("GET", "/v1/orders", {"authorization": "Bearer not-a-jwt"})
		with data.authz as authz_data
}

test_fail_revoked_caller_on_its_route if {
	authz.result == {
		"allowed": false,
		"http_status": 403,
		"headers": {"content-type": "application/json", "x-authz-reason": "revoked"},
		"response_headers_to_add": {"x-authz-reason": "revoked"},
		"body": `{"error":"forbidden","reason":"revoked"}`,
	} with input as request("GET", "/v1/orders", bearer("legacy-batch"))
		with data.authz as authz_data
}

test_fail_residency_in_us_cell if {
	headers := object.union(bearer("orders-web"), {"x-data-residency": "eu"})
	authz.result == denied(403, "forbidden", "residency") with input as request_in("GET", "/v1/orders", headers, "us")
		with data.authz as authz_data
}

test_fail_default_deny_outside_routes if {
	authz.result == denied(403, "forbidden", "default-deny") with input as request("GET", "/v1/invoices", bearer("orders-web"))
		with data.authz as authz_data
}

test_fail_empty_input_is_not_canonical if {
	authz.result == denied(400, "bad_request", "path-not-canonical") with input as {}
		with data.authz as authz_data
}

test_fail_revocation_precedes_residency if {
	headers := object.union(bearer("legacy-batch"), {"x-data-residency": "eu"})
	authz.reason == "revoked" with input as request_in("GET", "/v1/orders", headers, "us")
		with data.authz as authz_data
}

test_success_health_ignores_revocation_and_residency if {
	headers := object.union(bearer("legacy-batch"), {"x-data-residency": "eu"})
	authz.reason == "health" with input as request_in("GET", "/readyz", headers, "us")
		with data.authz as authz_data
}

test_fail_unknown_reason_falls_back_to_default_deny if {
	authz.result == denied(403, "forbidden", "default-deny") with input as request("GET", "/v1/orders", bearer("orders-web"))
		with data.authz as authz_data
		with authz.reason as "reason-without-status"
}
