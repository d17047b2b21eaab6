# Caller identity.
#
# The caller is the sub claim of an ES256 JWT sent as "authorization: Bearer <token>".
# The token must verify against one of data.authz.issuers, with that issuer's iss and
# aud, and must carry an exp claim that has not passed. io.jwt.decode_verify accepts
# a token without exp as never expiring, so the policy checks that exp is present.
package envoy.authz

# RFC 7235 makes the scheme name case-insensitive, so "bearer" is accepted too.
bearer_token := token if {
	parts := split(input.attributes.request.http.headers.authorization, " ")
	count(parts) == 2
	lower(parts[0]) == "bearer"
	token := parts[1]
}

# A set, so that two issuer entries that both verify a token cannot conflict.
verified_claims contains claims if {
	some issuer in data.authz.issuers
	[valid, _, claims] := io.jwt.decode_verify(bearer_token, {
		"cert": json.marshal(issuer.jwks),
		"alg": "ES256",
		"iss": issuer.iss,
		"aud": issuer.aud,
	})
	valid
}

# METADATA
# description: Name of the verified caller, for example orders-web or a SPIFFE ID.
caller := claims.sub if {
	some claims in verified_claims
	is_number(claims.exp)
	is_string(claims.sub)
	claims.sub != ""
}
