# Caller identity from the bearer token.
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
