# Caller identity.
#
# A peer that connected over mutual TLS with an X.509 SVID is named by its SPIFFE ID.
# Any other caller is the sub claim of an ES256 JWT sent as
# "authorization: Bearer <token>". The token must verify against one of
# data.authz.issuers, with that issuer's iss and aud, and must carry an exp claim that
# has not passed. io.jwt.decode_verify accepts a token without exp as never expiring,
# so the policy checks that exp is present.
package envoy.authz

# METADATA
# description: |
#   SPIFFE ID of the peer, for example spiffe://cells.example/ns/orders/sa/web. Envoy
#   fills source.principal from the URI SAN of a client certificate that its TLS
#   handshake verified, and leaves it empty without mutual TLS, so a client cannot
#   set it with a header.
peer_spiffe_id := principal if {
	principal := input.attributes.source.principal
	startswith(principal, "spiffe://")
}

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
# description: |
#   Name of the verified caller: the peer's SPIFFE ID over mutual TLS, else the token's
#   subject, for example orders-web. A peer with a SPIFFE ID is the workload that
#   called, so a token it forwards does not change who the caller is.
caller := peer_spiffe_id

caller := token_caller if not peer_spiffe_id

token_caller := claims.sub if {
	some claims in verified_claims
	is_number(claims.exp)
	is_string(claims.sub)
	claims.sub != ""
}
