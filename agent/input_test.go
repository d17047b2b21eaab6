package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

func checkRequest(method, path string, headers map[string]string, body string) *authv3.CheckRequest {
	return &authv3.CheckRequest{
		Attributes: &authv3.AttributeContext{
			Source: &authv3.AttributeContext_Peer{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
					SocketAddress: &corev3.SocketAddress{
						Address:       "127.0.0.1",
						PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000},
					},
				}},
			},
			Request: &authv3.AttributeContext_Request{
				Http: &authv3.AttributeContext_HttpRequest{
					Id:       "17",
					Method:   method,
					Headers:  headers,
					Path:     path,
					Host:     "cell.local",
					Scheme:   "http",
					Protocol: "HTTP/1.1",
					Body:     body,
				},
			},
			ContextExtensions: map[string]string{"cell": "eu-1"},
		},
	}
}

// roundTrip gives the input the JSON form a policy sees, with numbers as json.Number.
func roundTrip(t *testing.T, value any) any {
	t.Helper()
	encoded, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var decoded any
	decoder := json.NewDecoder(strings.NewReader(string(encoded)))
	decoder.UseNumber()
	if err := decoder.Decode(&decoded); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return decoded
}

func TestBuildInputHasOpaEnvoyPluginShape(t *testing.T) {
	req := checkRequest("GET", "/v1/orders?limit=5", map[string]string{
		":authority": "cell.local", "authorization": "Bearer abc",
	}, "")

	input, err := buildInput(req)
	if err != nil {
		t.Fatalf("buildInput: %v", err)
	}

	expected := roundTrip(t, map[string]any{
		"attributes": map[string]any{
			"source": map[string]any{"address": map[string]any{
				"socketAddress": map[string]any{"address": "127.0.0.1", "portValue": 40000},
			}},
			"request": map[string]any{"http": map[string]any{
				"id":       "17",
				"method":   "GET",
				"headers":  map[string]any{":authority": "cell.local", "authorization": "Bearer abc"},
				"path":     "/v1/orders?limit=5",
				"host":     "cell.local",
				"scheme":   "http",
				"protocol": "HTTP/1.1",
			}},
			"contextExtensions": map[string]any{"cell": "eu-1"},
		},
		"version":        map[string]any{"ext_authz": "v3", "encoding": "protojson"},
		"parsed_path":    []any{"v1", "orders"},
		"parsed_query":   map[string]any{"limit": []any{"5"}},
		"parsed_body":    nil,
		"truncated_body": false,
	})
	if got := roundTrip(t, input); !reflect.DeepEqual(got, expected) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		expectedJSON, _ := json.MarshalIndent(expected, "", " ")
		t.Errorf("input:\n%s\nexpected:\n%s", gotJSON, expectedJSON)
	}
}

func TestBuildInputLowerCasesHeaderNames(t *testing.T) {
	req := checkRequest("GET", "/", map[string]string{
		"Authorization": "Bearer abc", "X-Data-Residency": "eu", "x-multi": "a", "X-Multi": "b",
	}, "")

	input, err := buildInput(req)
	if err != nil {
		t.Fatalf("buildInput: %v", err)
	}

	headers := input["attributes"].(map[string]any)["request"].(map[string]any)["http"].(map[string]any)["headers"]
	expected := map[string]any{
		"authorization":    "Bearer abc",
		"x-data-residency": "eu",
		// Sorted original names: "X-Multi" comes before "x-multi".
		"x-multi": "b,a",
	}
	if !reflect.DeepEqual(headers, expected) {
		t.Errorf("headers = %v, expected %v", headers, expected)
	}
}

func TestParsePathAndQuery(t *testing.T) {
	cases := []struct {
		path  string
		segs  []any
		query map[string]any
	}{
		{"/", []any{""}, map[string]any{}},
		{"", []any{""}, map[string]any{}},
		{"/v1/orders", []any{"v1", "orders"}, map[string]any{}},
		{"/v1/orders/", []any{"v1", "orders", ""}, map[string]any{}},
		{"//v1//orders", []any{"v1", "", "orders"}, map[string]any{}},
		{"/v1/a%2Fb/c%20d", []any{"v1", "a", "b", "c d"}, map[string]any{}},
		{"/v1/../admin", []any{"v1", "..", "admin"}, map[string]any{}},
		{"/v1/orders;x=1", []any{"v1", "orders;x=1"}, map[string]any{}},
		{"/v1/caf%C3%A9", []any{"v1", "café"}, map[string]any{}},
		{"/search?q=a+b&q=%26&empty=&flag", []any{"search"},
			map[string]any{"q": []any{"a b", "&"}, "empty": []any{""}, "flag": []any{""}}},
		{"/p?a=1?b=2", []any{"p"}, map[string]any{"a": []any{"1?b=2"}}},
	}
	for _, tc := range cases {
		segments, query, err := parsePathAndQuery(tc.path)
		if err != nil {
			t.Errorf("parsePathAndQuery(%q): unexpected error %v", tc.path, err)
			continue
		}
		if !reflect.DeepEqual(segments, tc.segs) {
			t.Errorf("parsePathAndQuery(%q) path = %#v, expected %#v", tc.path, segments, tc.segs)
		}
		if !reflect.DeepEqual(query, tc.query) {
			t.Errorf("parsePathAndQuery(%q) query = %#v, expected %#v", tc.path, query, tc.query)
		}
	}
}

func TestParsePathAndQueryRejectsInvalidEscapes(t *testing.T) {
	cases := map[string]string{
		"/v1/%zz":     `invalid request path "/v1/%zz": invalid URL escape "%zz"`,
		"/v1/a%":      `invalid request path "/v1/a%": invalid URL escape "%"`,
		"/v1?q=%zz":   `invalid query string in "/v1?q=%zz": invalid URL escape "%zz"`,
		"/v1?a=1;b=2": `invalid query string in "/v1?a=1;b=2": invalid semicolon separator in query`,
	}
	for path, expected := range cases {
		_, _, err := parsePathAndQuery(path)
		if err == nil || err.Error() != expected {
			t.Errorf("parsePathAndQuery(%q) error = %v, expected %s", path, err, expected)
		}
	}
}

func TestBuildInputParsesBodies(t *testing.T) {
	cases := []struct {
		name      string
		headers   map[string]string
		body      string
		parsed    any
		truncated bool
	}{
		{"json", map[string]string{"content-type": "application/json", "content-length": "20"},
			`{"item":"pen","n":3}`, map[string]any{"item": "pen", "n": json.Number("3")}, false},
		{"json without length", map[string]string{"content-type": "application/json; charset=utf-8"},
			`[1, "a"]`, []any{json.Number("1"), "a"}, false},
		{"json truncated", map[string]string{"content-type": "application/json", "content-length": "100"},
			`{"item":`, nil, true},
		{"form", map[string]string{"content-type": "application/x-www-form-urlencoded"},
			"a=1&a=2&b=x+y", map[string]any{"a": []any{"1", "2"}, "b": []any{"x y"}}, false},
		{"multipart", map[string]string{"content-type": "multipart/form-data; boundary=XX"},
			"--XX\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n" +
				"--XX\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"k\":true}\r\n" +
				"--XX--\r\n",
			map[string]any{"note": []any{"hello"}, "meta": []any{map[string]any{"k": true}}}, false},
		{"other type", map[string]string{"content-type": "text/plain"}, "hello", nil, false},
		{"no content type", map[string]string{}, `{"a":1}`, nil, false},
		{"empty json", map[string]string{"content-type": "application/json"}, "", nil, false},
	}
	for _, tc := range cases {
		input, err := buildInput(checkRequest("POST", "/v1/orders", tc.headers, tc.body))
		if err != nil {
			t.Errorf("%s: buildInput: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(input["parsed_body"], tc.parsed) {
			t.Errorf("%s: parsed_body = %#v, expected %#v", tc.name, input["parsed_body"], tc.parsed)
		}
		if input["truncated_body"] != tc.truncated {
			t.Errorf("%s: truncated_body = %v, expected %v", tc.name, input["truncated_body"], tc.truncated)
		}
	}
}

func TestBuildInputRejectsInvalidBodyAndPath(t *testing.T) {
	cases := []struct {
		name     string
		req      *authv3.CheckRequest
		expected string
	}{
		{"invalid json", checkRequest("POST", "/v1",
			map[string]string{"content-type": "application/json"}, `{"a":`),
			"invalid JSON body: unexpected EOF"},
		{"invalid content-length", checkRequest("POST", "/v1",
			map[string]string{"content-type": "application/json", "content-length": "ten"}, `{}`),
			`invalid content-length "ten": strconv.ParseInt: parsing "ten": invalid syntax`},
		{"invalid path", checkRequest("GET", "/%zz", nil, ""),
			`invalid request path "/%zz": invalid URL escape "%zz"`},
	}
	for _, tc := range cases {
		_, err := buildInput(tc.req)
		if err == nil || err.Error() != tc.expected {
			t.Errorf("%s: error = %v, expected %s", tc.name, err, tc.expected)
		}
	}
}

func TestBuildInputAddsSourcePrincipal(t *testing.T) {
	req := checkRequest("GET", "/", nil, "")
	req.Attributes.Source.Principal = "spiffe://cells.example/ns/orders/sa/web"

	input, err := buildInput(req)
	if err != nil {
		t.Fatalf("buildInput: %v", err)
	}

	if input["source_principal"] != "spiffe://cells.example/ns/orders/sa/web" {
		t.Errorf("source_principal = %v", input["source_principal"])
	}
}
