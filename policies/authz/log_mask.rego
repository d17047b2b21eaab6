# METADATA
# title: Decision log masking
# description: |
#   OPA's decision log plugin evaluates data.system.log.mask on every entry and erases the
#   JSON pointers it returns. Erasing the credential headers keeps bearer tokens and
#   cookies, which a reader of the logs could replay, out of every decision log; the entry
#   lists what was erased under "erased".
package system.log

credential_headers := {"authorization", "proxy-authorization", "cookie"}

mask contains pointer if {
	some name in credential_headers
	input.input.attributes.request.http.headers[name]
	pointer := concat("", ["/input/attributes/request/http/headers/", name])
}
