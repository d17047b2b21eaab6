package main

import (
	"encoding/json"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/util"
	"google.golang.org/protobuf/encoding/protojson"
)

// decisionFrom decodes a decision as the agent receives it from ast.JSON: numbers are
// json.Number.
func decisionFrom(t *testing.T, text string) any {
	t.Helper()
	var decision any
	if err := util.UnmarshalJSON([]byte(text), &decision); err != nil {
		t.Fatalf("decode %s: %v", text, err)
	}
	return decision
}

// responseJSON renders a response in protojson with sorted keys, for whole-object checks.
func responseJSON(t *testing.T, response *authv3.CheckResponse) string {
	t.Helper()
	encoded, err := protojson.Marshal(response)
	if err != nil {
		t.Fatalf("marshal response: %v", err)
	}
	var generic any
	if err := json.Unmarshal(encoded, &generic); err != nil {
		t.Fatalf("unmarshal response: %v", err)
	}
	sorted, _ := json.Marshal(generic)
	return string(sorted)
}

func TestBuildResponseMapsDecisions(t *testing.T) {
	cases := []struct {
		name     string
		decision string
		expected string
	}{
		{"boolean allow", `true`, `{"status":{}}`},
		{"boolean deny", `false`, `{"status":{"code":7}}`},
		{"allowed object",
			`{"allowed": true, "headers": {"x-authz-caller": "orders-web"},
			  "response_headers_to_add": {"x-authz-reason": "allowed"}}`,
			`{"okResponse":{"headers":[{"header":{"key":"x-authz-caller","value":"orders-web"}}],` +
				`"responseHeadersToAdd":[{"header":{"key":"x-authz-reason","value":"allowed"}}]},"status":{}}`},
		{"allowed with removals and query parameters",
			`{"allowed": true, "request_headers_to_remove": ["cookie"],
			  "query_parameters_to_remove": ["debug"], "query_parameters_to_set": {"tenant": ["a", "b"]}}`,
			`{"okResponse":{"headersToRemove":["cookie"],` +
				`"queryParametersToRemove":["debug"],` +
				`"queryParametersToSet":[{"key":"tenant","value":"a"},{"key":"tenant","value":"b"}]},"status":{}}`},
		{"denied object",
			`{"allowed": false, "http_status": 401,
			  "headers": {"www-authenticate": "Bearer", "content-type": "application/json"},
			  "response_headers_to_add": {"ignored": "when denied"},
			  "body": "{\"error\":\"unauthorized\"}"}`,
			`{"deniedResponse":{"body":"{\"error\":\"unauthorized\"}",` +
				`"headers":[{"header":{"key":"content-type","value":"application/json"}},` +
				`{"header":{"key":"www-authenticate","value":"Bearer"}}],` +
				`"status":{"code":"Unauthorized"}},"status":{"code":7}}`},
		{"denied without status is 403",
			`{"allowed": false}`,
			`{"deniedResponse":{"status":{"code":"Forbidden"}},"status":{"code":7}}`},
		{"header list and multiple values",
			`{"allowed": true, "headers": [{"x-a": "1"}, {"x-a": ["2", "3"]}]}`,
			`{"okResponse":{"headers":[{"header":{"key":"x-a","value":"1"}},` +
				`{"header":{"key":"x-a","value":"2"}},{"header":{"key":"x-a","value":"3"}}]},"status":{}}`},
		{"dynamic metadata",
			`{"allowed": true, "dynamic_metadata": {"caller": "billing", "weight": 2}}`,
			`{"dynamicMetadata":{"caller":"billing","weight":2},"okResponse":{},"status":{}}`},
	}
	for _, tc := range cases {
		response, err := buildResponse(decisionFrom(t, tc.decision))
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if got := responseJSON(t, response); got != tc.expected {
			t.Errorf("%s:\n got      %s\n expected %s", tc.name, got, tc.expected)
		}
	}
}

func TestBuildResponseRejectsInvalidDecisions(t *testing.T) {
	cases := []struct {
		decision string
		expected string
	}{
		{`null`, `the decision is undefined`},
		{`"allow"`, `invalid decision of type string; expected a boolean or an object`},
		{`{"http_status": 403}`, `the decision object has no "allowed" key`},
		{`{"allowed": "yes"}`, `invalid "allowed" of type string; expected a boolean`},
		{`{"allowed": false, "http_status": "403"}`, `invalid "http_status" of type string; expected a number`},
		{`{"allowed": false, "http_status": 42}`, `invalid "http_status" 42; expected an HTTP status code`},
		{`{"allowed": false, "http_status": 403.5}`, `invalid "http_status" 403.5; expected an HTTP status code`},
		{`{"allowed": false, "http_status": 299}`, `invalid "http_status" 299; expected a status code that Envoy's StatusCode names`},
		{`{"allowed": false, "body": {"a": 1}}`, `invalid "body" of type object; expected a string`},
		{`{"allowed": true, "headers": "x-a: 1"}`, `invalid "headers" of type string; expected an object of header values`},
		{`{"allowed": true, "headers": {"x-a": 1}}`, `invalid value of type number for header "x-a" in "headers"; expected a string or a list of strings`},
		{`{"allowed": true, "headers": [1]}`, `invalid "headers" item of type number; expected an object`},
		{`{"allowed": true, "request_headers_to_remove": "cookie"}`, `invalid "request_headers_to_remove" of type string; expected a list of strings`},
		{`{"allowed": true, "dynamic_metadata": []}`, `invalid "dynamic_metadata" of type array; expected an object`},
	}
	for _, tc := range cases {
		_, err := buildResponse(decisionFrom(t, tc.decision))
		if err == nil || err.Error() != tc.expected {
			t.Errorf("buildResponse(%s) error = %v, expected %s", tc.decision, err, tc.expected)
		}
	}
}

func TestAgentDenialDeniesWithReason(t *testing.T) {
	response := agentDenial(14, 403, reasonPolicyUnavailable,
		errString("no active bundle has a WebAssembly module for entrypoint data.envoy.authz.result"))

	got := responseJSON(t, response)

	expected := `{"deniedResponse":{"body":"{\"error\":\"forbidden\",\"reason\":\"policy-unavailable\"}",` +
		`"headers":[{"header":{"key":"content-type","value":"application/json"}},` +
		`{"header":{"key":"x-authz-reason","value":"policy-unavailable"}}],` +
		`"status":{"code":"Forbidden"}},` +
		`"status":{"code":14,"message":"no active bundle has a WebAssembly module for entrypoint data.envoy.authz.result"}}`
	if got != expected {
		t.Errorf("response:\n got      %s\n expected %s", got, expected)
	}
	if strings.Contains(got, "okResponse") {
		t.Errorf("an agent denial must never carry an OK response: %s", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
