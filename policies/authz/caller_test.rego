# Caller identity from the bearer token, or from the peer's SPIFFE ID over mutual TLS.
package envoy.authz_test

import data.envoy.authz

test_success_caller_from_sub if {
	authz.caller == "billing" with input as request("GET", "/v1/orders", bearer("billing"))
		with data.authz as authz_data
}

test_success_lower_case_scheme if {
	headers := {"authorization": concat(" ", ["bearer", token("billing")])}
	authz.caller == "billing" with input as request("GET", "/v1/orders", headers)
		with data.authz as authz_data
}

test_fail_token_rejected[name] if {
	some name, authorization in {
		"expired": concat(" ", ["Bearer", token_with("billing", {"exp": now_seconds - 60}, issuer_private_jwk)]),
		"not yet valid": concat(" ", ["Bearer", token_with("billing", {"nbf": now_seconds + 600}, issuer_private_jwk)]),
		"without exp": concat(" ", ["Bearer", token_with("billing", {"exp": null}, issuer_private_jwk)]),
		"wrong issuer": concat(" ", ["Bearer", token_with("billing", {"iss": "https://other.test"}, issuer_private_jwk)]),
		"wrong audience": concat(" ", ["Bearer", token_with("billing", {"aud": "other"}, issuer_private_jwk)]),
		"without audience": concat(" ", ["Bearer", token_with("billing", {"aud": null}, issuer_private_jwk)]),
		"unknown key": concat(" ", ["Bearer", token_with("billing", {}, unknown_private_jwk)]),
		"empty sub": concat(" ", ["Bearer", token_with("", {}, issuer_private_jwk)]),
		"numeric sub": concat(" ", ["Bearer", token_with(42, {}, issuer_private_jwk)]),
		"malformed": "Bearer not.a.jwt",
		"unsigned alg none": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJiaWxsaW5nIn0.",
		"basic scheme": "Basic YmlsbGluZzpzZWNyZXQ=",
		"no scheme": token("billing"),
		"two spaces": concat("  ", ["Bearer", token("billing")]),
		"empty header": "",
	}
	authz.result == unauthorized("token-invalid") with input as request("GET", "/v1/orders", {"authorization": authorization})
		with data.authz as authz_data
}

test_fail_no_issuers_configured if {
	authz.reason == "token-invalid" with input as request("GET", "/v1/orders", bearer("billing"))
		with data.authz as object.union(authz_data, {"issuers": []})
}

orders_web_id := "spiffe://cells.example/ns/orders/sa/web"

peer_data := object.union(authz_data, {"routes": {orders_web_id: [{"methods": ["GET"], "path_prefix": "/v1/orders"}]}})

test_success_caller_from_peer_spiffe_id if {
	authz.caller == orders_web_id with input as request_from_peer("GET", "/v1/orders", {}, orders_web_id)
		with data.authz as peer_data
}

test_success_peer_allowed_without_token if {
	authz.result == allowed_for(orders_web_id) with input as request_from_peer("GET", "/v1/orders", {}, orders_web_id)
		with data.authz as peer_data
}

test_success_peer_identity_wins_over_token if {
	authz.caller == orders_web_id with input as request_from_peer("GET", "/v1/orders", bearer("billing"), orders_web_id)
		with data.authz as peer_data
}

test_fail_peer_without_grant if {
	authz.reason == "default-deny" with input as request_from_peer("POST", "/v1/orders", {}, orders_web_id)
		with data.authz as peer_data
}

test_fail_revoked_peer if {
	authz.reason == "revoked" with input as request_from_peer("GET", "/v1/orders", {}, orders_web_id)
		with data.authz as object.union(peer_data, {"revoked": [orders_web_id]})
}

test_fail_principal_not_spiffe_needs_token[name] if {
	some name, principal in {"empty": "", "dns name": "web.orders.svc", "subject": "CN=web"}
	authz.reason == "token-missing" with input as request_from_peer("GET", "/v1/orders", {}, principal)
		with data.authz as peer_data
}
