# Data residency by the x-data-residency header and the cell's jurisdiction.
package envoy.authz_test

import data.envoy.authz

test_success_eu_data_in_eu_cell if {
	headers := object.union(bearer("orders-web"), {"x-data-residency": "eu"})
	authz.reason == "allowed" with input as request_in("GET", "/v1/orders", headers, "eu")
		with data.authz as authz_data
}

test_success_untagged_request_in_us_cell if {
	authz.reason == "allowed" with input as request_in("GET", "/v1/orders", bearer("orders-web"), "us")
		with data.authz as authz_data
}

test_fail_residency_denied[name] if {
	some name, case in {
		"eu data in us cell": ["eu", "us"],
		"upper-case tag": ["EU", "eu"],
		"unknown tag": ["ch", "eu"],
		"empty tag": ["", "eu"],
		"two tags": ["eu,us", "eu"],
		"cell without jurisdiction": ["eu", null],
	}
	[tag, jurisdiction] := case
	headers := object.union(bearer("orders-web"), {"x-data-residency": tag})
	authz.result == denied(403, "forbidden", "residency") with input as request_in("GET", "/v1/orders", headers, jurisdiction)
		with data.authz as authz_data
}
