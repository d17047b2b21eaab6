# Masking of credentials in decision logs.
package system.log_test

import data.system.log

entry(headers) := {"input": {"attributes": {"request": {"http": {"headers": headers}}}}}

test_success_mask_erases_credential_headers if {
	headers := {
		"authorization": "Bearer abc",
		"proxy-authorization": "Basic xyz",
		"cookie": "session=1",
		"x-user-id": "user-7",
	}
	log.mask == {
		"/input/attributes/request/http/headers/authorization",
		"/input/attributes/request/http/headers/proxy-authorization",
		"/input/attributes/request/http/headers/cookie",
	} with input as entry(headers)
}

test_success_mask_keeps_other_headers if {
	count(log.mask) == 0 with input as entry({"x-user-id": "user-7"})
}
