# Request path and route allow-list.
#
# Matches the request path against the caller's routes by whole path segments, so the
# prefix /v1/orders allows /v1/orders/42 but not /v1/ordersX. Only a path in canonical
# form is matched at all: the policy rejects a path that a server behind the sidecar
# could read differently rather than guess what that server will do with it.
package envoy.authz

# Envoy passes the path with its query string, and the query takes no part in routing.
# The raw path is matched rather than input.parsed_path, because parsed_path is already
# percent-decoded, so an encoded slash in it would look like a segment boundary.
request_path := split(input.attributes.request.http.path, "?")[0]

# Segments of the request path without the leading empty one: /v1/orders -> [v1, orders].
request_segments := array.slice(split(request_path, "/"), 1, count(split(request_path, "/")))

# METADATA
# description: |
#   True when the path is / or a sequence of non-empty segments made of RFC 3986 path
#   characters without percent-encoding and without ';'. That rejects %2F and every
#   other encoded byte, duplicate and trailing slashes, and the ';' path parameters
#   that some servers strip before they resolve '..'. Segments made only of dots,
#   such as '.' and '..', are rejected too.
canonical_path if {
	request_path == "/"
}

canonical_path if {
	startswith(request_path, "/")
	every segment in request_segments {
		segment != ""
		trim(segment, segment_characters) == ""
		trim(segment, ".") != ""
	}
}

# The characters of RFC 3986's pchar without percent-encoding and without ';'. trim()
# with this cutset leaves "" only for a segment made of these characters. It replaces
# two regex.match() calls that, in the WebAssembly module, cost about 0.4 ms of CPU per
# decision in agent/check_bench_test.go, while trim() is a native function there.
segment_characters := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,=:@-"

# METADATA
# description: |
#   True when one of the caller's routes lists the request method (exact, upper case)
#   and its path_prefix is a whole-segment prefix of the request path. Letter case is
#   significant in both, as in RFC 3986, so /V1/orders does not match /v1/orders.
route_allowed if {
	some route in data.authz.routes[caller]
	input.attributes.request.http.method in route.methods
	prefix := prefix_segments(route.path_prefix)
	count(prefix) <= count(request_segments)
	array.slice(request_segments, 0, count(prefix)) == prefix
}

# The prefix / allows every path.
prefix_segments("/") := []

prefix_segments(prefix) := array.slice(split(prefix, "/"), 1, count(split(prefix, "/"))) if {
	prefix != "/"
}

# METADATA
# description: A GET on one of data.authz.health_paths, open without a token.
health_request if {
	input.attributes.request.http.method == "GET"
	request_path in data.authz.health_paths
}
