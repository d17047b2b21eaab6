# Shared data, keys and request builders for the envoy.authz tests.
package envoy.authz_test

# Test-only P-256 keys. They sign nothing outside these tests: the local region
# generates its own issuer key at bring-up, and the bundle carries only public keys.
issuer_private_jwk := {
	"kty": "EC",
	"crv": "P-256",
	"kid": "test-issuer",
	"x": "ULFgnbDW_jxYOZmYTXqTeAxfCNTLTxs-yVBJhAv4ukI",
	"y": "JQg6UXnuuiGRV80H27CsGuLQYqBwo2FXBraets27xjA",
	"d": "zt6JuBjigGMFlP5vg_-Mc8UTJKNRRY6u5L4GLMr1AN0",
}

unknown_private_jwk := {
	"kty": "EC",
	"crv": "P-256",
	"kid": "test-issuer",
	"x": "UiJOeVIlO0yxtSmB8Bsd-mffwO63Uukw7H2QkFt_-2w",
	"y": "bJ9YM3b87Jb8uQ-z0I3RyBIjD30AsejX228QSIF8KCI",
	"d": "Ph_-4BgpQofj9w92Zc8Cg9wemqwe79nQYsVaEZlIv0Y",
}

issuer := "https://issuer.test"

audience := "cell-services"

authz_data := {
	"routes": {
		"orders-web": [{"methods": ["GET", "POST"], "path_prefix": "/v1/orders"}],
		"billing": [
			{"methods": ["GET"], "path_prefix": "/v1/orders"},
			{"methods": ["GET"], "path_prefix": "/v1/invoices"},
		],
		"auditor": [{"methods": ["GET"], "path_prefix": "/"}],
		"support": [{"methods": ["GET"], "path_prefix": "/v1/profiles"}],
		"legacy-batch": [{"methods": ["GET", "POST"], "path_prefix": "/v1/orders"}],
	},
	"revoked": ["legacy-batch"],
	"health_paths": ["/healthz", "/readyz"],
	"residency": {"eu": ["eu"]},
	"issuers": [{
		"iss": issuer,
		"aud": audience,
		"jwks": {"keys": [object.remove(issuer_private_jwk, ["d"])]},
	}],
}

now_seconds := floor(time.now_ns() / 1000000000)

# Mints a token for subject with valid claims, then applies overrides (null removes one).
token_with(subject, overrides, key) := io.jwt.encode_sign(
	{"alg": "ES256", "typ": "JWT", "kid": key.kid},
	object.filter(claims, {name | some name, value in claims; value != null}),
	key,
) if {
	defaults := {
		"sub": subject,
		"iss": issuer,
		"aud": audience,
		"iat": now_seconds,
		"exp": now_seconds + 300,
	}
	claims := object.union(defaults, overrides)
}

token(subject) := token_with(subject, {}, issuer_private_jwk)

bearer(subject) := {"authorization": concat(" ", ["Bearer", token(subject)])}

request(method, path, headers) := request_in(method, path, headers, "eu")

request_in(method, path, headers, jurisdiction) := {
	"attributes": {
		"request": {"http": {
			"id": "test-request",
			"method": method,
			"path": path,
			"host": "cell.test",
			"headers": headers,
		}},
		"source": {"address": {"socketAddress": {"address": "127.0.0.1", "portValue": 50000}}},
		"destination": {"address": {"socketAddress": {"address": "127.0.0.1", "portValue": 8080}}},
		"contextExtensions": {"cell": "cell-1", "jurisdiction": jurisdiction, "region": "local"},
	},
	"parsed_query": {},
}

# A request from a peer that connected over mutual TLS, as Envoy reports it.
request_from_peer(method, path, headers, principal) := object.union(
	request(method, path, headers),
	{"attributes": {"source": {"principal": principal}}},
)

allowed_for(caller) := {
	"allowed": true,
	"headers": {"x-authz-caller": caller},
	"response_headers_to_add": {"x-authz-reason": "allowed"},
}

denied(status, error, reason) := {
	"allowed": false,
	"http_status": status,
	"headers": {"content-type": "application/json", "x-authz-reason": reason},
	"response_headers_to_add": {"x-authz-reason": reason},
	"body": concat("", ["{\"error\":\"", error, "\",\"reason\":\"", reason, "\"}"]),
}

unauthorized(reason) := object.union(
	denied(401, "unauthorized", reason),
	{"headers": {"content-type": "application/json", "x-authz-reason": reason, "www-authenticate": "Bearer"}},
)
