package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"google.golang.org/genproto/googleapis/rpc/code"
)

// The policy allows GET, denies DELETE with 405, and leaves other methods undefined.
const methodPolicy = `package envoy.authz

result := {"allowed": true, "headers": {"x-method": input.attributes.request.http.method}} if {
	input.attributes.request.http.method == "GET"
}

result := {"allowed": false, "http_status": 405, "body": "no deletes"} if {
	input.attributes.request.http.method == "DELETE"
}
`

// wasmBundle compiles module to a WebAssembly bundle with entrypoint envoy/authz/result.
func wasmBundle(t *testing.T, module string) *bundle.Bundle {
	t.Helper()
	directory := t.TempDir()
	if err := os.WriteFile(filepath.Join(directory, "policy.rego"), []byte(module), 0o600); err != nil {
		t.Fatal(err)
	}
	return wasmBundleFromDirectory(t, directory)
}

// wasmBundleFromDirectory compiles the Rego and data files in directory to a WebAssembly
// bundle with entrypoint envoy/authz/result.
func wasmBundleFromDirectory(t testing.TB, directory string) *bundle.Bundle {
	t.Helper()
	compiler := compile.New().
		WithTarget(compile.TargetWasm).
		WithEntrypoints("envoy/authz/result").
		WithRegoVersion(ast.RegoV1).
		WithRevision("test-r1").
		WithPaths(directory)
	if err := compiler.Build(context.Background()); err != nil {
		t.Fatalf("compile the policy to WebAssembly: %v", err)
	}

	// Round-trip the bundle through its tarball, as `opa build` writes it and the bundle
	// plugin reads it: only then do module paths match the manifest's "/policy.wasm".
	var tarball bytes.Buffer
	if err := bundle.NewWriter(&tarball).Write(*compiler.Bundle()); err != nil {
		t.Fatalf("write the bundle: %v", err)
	}
	loaded, err := bundle.NewReader(&tarball).Read()
	if err != nil {
		t.Fatalf("read the bundle: %v", err)
	}
	return &loaded
}

// newTestAuthorizer returns an authorizer over a manager that activated bundles at start.
func newTestAuthorizer(t *testing.T, bundles map[string]*bundle.Bundle) *authorizer {
	t.Helper()
	manager, err := plugins.New([]byte(`{}`), "test", inmem.New(), plugins.InitBundles(bundles))
	if err != nil {
		t.Fatalf("create the plugin manager: %v", err)
	}
	if err := manager.Init(context.Background()); err != nil {
		t.Fatalf("initialize the plugin manager: %v", err)
	}
	cfg, err := parseConfig([]byte(`{"addr": "127.0.0.1:9191", "path": "envoy/authz/result"}`))
	if err != nil {
		t.Fatal(err)
	}
	return newAuthorizer(manager, cfg)
}

func TestCheckDecidesWithWasmModule(t *testing.T) {
	authz := newTestAuthorizer(t, map[string]*bundle.Bundle{"authz": wasmBundle(t, methodPolicy)})
	if len(authz.manager.GetWasmResolvers()) != 1 {
		t.Fatalf("expected one WebAssembly resolver, got %d", len(authz.manager.GetWasmResolvers()))
	}

	allowed, err := authz.Check(context.Background(), checkRequest("GET", "/v1/orders", nil, ""))
	if err != nil {
		t.Fatalf("Check(GET): %v", err)
	}
	denied, err := authz.Check(context.Background(), checkRequest("DELETE", "/v1/orders/1", nil, ""))
	if err != nil {
		t.Fatalf("Check(DELETE): %v", err)
	}

	if allowed.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Errorf("GET status = %v, expected OK", allowed.GetStatus())
	}
	headers := allowed.GetOkResponse().GetHeaders()
	if len(headers) != 1 || headers[0].GetHeader().GetKey() != "x-method" || headers[0].GetHeader().GetValue() != "GET" {
		t.Errorf("GET upstream headers = %v, expected x-method: GET", headers)
	}
	if allowed.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue() == "" {
		t.Errorf("GET response has no decision_id in its dynamic metadata")
	}
	if denied.GetStatus().GetCode() != int32(code.Code_PERMISSION_DENIED) {
		t.Errorf("DELETE status = %v, expected PERMISSION_DENIED", denied.GetStatus())
	}
	if got := denied.GetDeniedResponse().GetStatus().GetCode(); got != 405 {
		t.Errorf("DELETE HTTP status = %v, expected 405", got)
	}
	if got := denied.GetDeniedResponse().GetBody(); got != "no deletes" {
		t.Errorf("DELETE body = %q, expected %q", got, "no deletes")
	}
}

func TestCheckDeniesWithoutWasmModule(t *testing.T) {
	authz := newTestAuthorizer(t, nil)

	response, err := authz.Check(context.Background(), checkRequest("GET", "/v1/orders", nil, ""))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}

	if response.GetStatus().GetCode() != int32(code.Code_UNAVAILABLE) {
		t.Errorf("status = %v, expected UNAVAILABLE", response.GetStatus())
	}
	if response.GetStatus().GetMessage() != "no active bundle has a WebAssembly module for entrypoint data.envoy.authz.result" {
		t.Errorf("status message = %q", response.GetStatus().GetMessage())
	}
	if got := response.GetDeniedResponse().GetStatus().GetCode(); got != 403 {
		t.Errorf("HTTP status = %v, expected 403", got)
	}
	if response.GetOkResponse() != nil {
		t.Errorf("a request without a WebAssembly module must never be allowed: %v", response)
	}
}

func TestCheckDeniesUndefinedDecision(t *testing.T) {
	authz := newTestAuthorizer(t, map[string]*bundle.Bundle{"authz": wasmBundle(t, methodPolicy)})

	response, err := authz.Check(context.Background(), checkRequest("POST", "/v1/orders", nil, ""))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}

	if response.GetStatus().GetCode() != int32(code.Code_INTERNAL) {
		t.Errorf("status = %v, expected INTERNAL", response.GetStatus())
	}
	if response.GetStatus().GetMessage() != "data.envoy.authz.result is undefined for this input" {
		t.Errorf("status message = %q", response.GetStatus().GetMessage())
	}
	if got := response.GetDeniedResponse().GetStatus().GetCode(); got != 403 {
		t.Errorf("HTTP status = %v, expected 403", got)
	}
}

func TestCheckRejectsInvalidPath(t *testing.T) {
	authz := newTestAuthorizer(t, map[string]*bundle.Bundle{"authz": wasmBundle(t, methodPolicy)})

	response, err := authz.Check(context.Background(), checkRequest("GET", "/v1/%zz", nil, ""))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}

	if response.GetStatus().GetCode() != int32(code.Code_INVALID_ARGUMENT) {
		t.Errorf("status = %v, expected INVALID_ARGUMENT", response.GetStatus())
	}
	if got := response.GetDeniedResponse().GetStatus().GetCode(); got != 400 {
		t.Errorf("HTTP status = %v, expected 400", got)
	}
}
