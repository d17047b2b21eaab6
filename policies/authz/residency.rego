# Data residency.
#
# A request that carries "x-data-residency: <tag>" may only be served by a cell whose
# jurisdiction is listed for that tag in data.authz.residency, for example
# {"eu": ["eu"]}. The sidecar sends the cell's jurisdiction as a context extension,
# which arrives as input.attributes.contextExtensions, because the input keeps the
# protobuf JSON field names of the CheckRequest, as opa-envoy-plugin's input does.
# A tag that the data does not list is denied everywhere, because the policy cannot
# know where such data may be processed.
package envoy.authz

residency_allowed if {
	not input.attributes.request.http.headers["x-data-residency"]
}

residency_allowed if {
	tag := input.attributes.request.http.headers["x-data-residency"]
	input.attributes.contextExtensions.jurisdiction in data.authz.residency[tag]
}
