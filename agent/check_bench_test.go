package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
	"github.com/sirupsen/logrus"
)

// The benchmarks decide the bench's allowed request (orders-web, GET /v1/orders, an ES256
// bearer token) with the project's policy, policies/authz, compiled to WebAssembly, and log
// each decision to a JSON console logger that discards its output. They measure the
// agent's CPU per decision without Envoy, gRPC or the machine's other processes:
//
//	go test -tags opa_wasm -run '^$' -bench Check -benchmem -count 5
//
// BENCH_POLICY_DIR names another directory of Rego sources and data.sample.json to
// compile instead, for comparing a change to the policy. Each run reports cpu-ns/op, the
// process's CPU time per decision, next to the wall time per decision.
const (
	benchIssuer   = "https://issuer.bench"
	benchAudience = "cell-services"
	benchCaller   = "orders-web"
)

// authzPolicyBundle compiles policies/authz (tests left out) with its sample data and one
// issuer whose key is key, as the project's bundles are built.
func authzPolicyBundle(tb testing.TB, key *ecdsa.PrivateKey) *bundle.Bundle {
	tb.Helper()
	sources := filepath.Join("..", "policies", "authz")
	if override := os.Getenv("BENCH_POLICY_DIR"); override != "" {
		sources = override
	}
	directory := tb.TempDir()
	paths, err := filepath.Glob(filepath.Join(sources, "*.rego"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no Rego sources in %s: %v", sources, err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.rego") {
			continue
		}
		source, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(directory, filepath.Base(path)), source, 0o600); err != nil {
			tb.Fatal(err)
		}
	}

	raw, err := os.ReadFile(filepath.Join(sources, "data.sample.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var data map[string]map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		tb.Fatal(err)
	}
	data["authz"]["issuers"] = []any{map[string]any{
		"iss":  benchIssuer,
		"aud":  benchAudience,
		"jwks": map[string]any{"keys": []any{publicJWK(key)}},
	}}
	encoded, err := json.Marshal(data)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(directory, "data.json"), encoded, 0o600); err != nil {
		tb.Fatal(err)
	}
	return wasmBundleFromDirectory(tb, directory)
}

func publicJWK(key *ecdsa.PrivateKey) map[string]any {
	encoding := base64.RawURLEncoding
	x, y := key.X.FillBytes(make([]byte, 32)), key.Y.FillBytes(make([]byte, 32))
	members := map[string]any{
		"kty": "EC", "crv": "P-256", "x": encoding.EncodeToString(x), "y": encoding.EncodeToString(y),
	}
	members["kid"] = "bench-issuer"
	members["alg"] = "ES256"
	members["use"] = "sig"
	return members
}

// es256Token signs a JWT for subject with key, valid for an hour.
func es256Token(tb testing.TB, key *ecdsa.PrivateKey, subject string) string {
	tb.Helper()
	encoding := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT", "kid": "bench-issuer"})
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{
		"iss": benchIssuer, "aud": benchAudience, "sub": subject, "iat": now, "exp": now + 3600,
	})
	signed := encoding.EncodeToString(header) + "." + encoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	signature := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signed + "." + encoding.EncodeToString(signature)
}

// newBenchAuthorizer returns an authorizer over a manager that activated the project's
// policy and runs OPA's decision log plugin with console logging to a discarded output.
func newBenchAuthorizer(tb testing.TB, policy *bundle.Bundle) *authorizer {
	tb.Helper()
	return newLoggingAuthorizer(tb, policy, io.Discard)
}

// newLoggingAuthorizer is newBenchAuthorizer with the console log written to output.
func newLoggingAuthorizer(tb testing.TB, policy *bundle.Bundle, output io.Writer) *authorizer {
	tb.Helper()
	console := logging.New()
	console.SetOutput(output)
	console.SetFormatter(&logrus.JSONFormatter{})
	manager, err := plugins.New(
		[]byte(`{"labels": {"cell": "eu-1"}, "decision_logs": {"console": true}}`),
		"bench", inmem.New(),
		plugins.InitBundles(map[string]*bundle.Bundle{"authz": policy}),
		plugins.ConsoleLogger(console),
		plugins.Logger(logging.NewNoOpLogger()),
	)
	if err != nil {
		tb.Fatalf("create the plugin manager: %v", err)
	}
	ctx := context.Background()
	if err := manager.Init(ctx); err != nil {
		tb.Fatalf("initialize the plugin manager: %v", err)
	}
	logConfig, err := logs.NewConfigBuilder().WithBytes([]byte(`{"console": true}`)).Parse()
	if err != nil {
		tb.Fatalf("configure decision logs: %v", err)
	}
	logPlugin := logs.New(logConfig, manager)
	manager.Register(logs.Name, logPlugin)
	if err := manager.Start(ctx); err != nil {
		tb.Fatalf("start the plugin manager: %v", err)
	}
	tb.Cleanup(func() { manager.Stop(ctx) })

	cfg, err := parseConfig([]byte(`{"addr": "127.0.0.1:9191", "path": "envoy/authz/result"}`))
	if err != nil {
		tb.Fatal(err)
	}
	return newAuthorizer(manager, cfg)
}

// benchRequest is the CheckRequest that the bench's Envoy sends for an allowed call.
func benchRequest(token string) *authv3.CheckRequest {
	req := checkRequest("GET", "/v1/orders", map[string]string{
		":authority":        "cells",
		":method":           "GET",
		":path":             "/v1/orders",
		":scheme":           "http",
		"accept":            "*/*",
		"authorization":     "Bearer " + token,
		"user-agent":        "Go-http-client/1.1",
		"x-forwarded-proto": "http",
		"x-request-id":      "e96d1faa-b517-4662-b041-df0181a9d472",
		"x-user-id":         "user-17",
	}, "")
	req.Attributes.ContextExtensions = map[string]string{
		"cell": "eu-1", "jurisdiction": "eu", "region": "local",
	}
	return req
}

// BenchmarkCheckAllowedRequest decides with no inter-query value cache, with OPA's default
// caching configuration (the keys io.jwt.decode_verify parsed from the issuers' JWK set are
// cached), and with the verified-token cache (io_jwt) enabled as well.
func BenchmarkCheckAllowedRequest(b *testing.B) {
	registerValueCacheSupport()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	policy := authzPolicyBundle(b, key)
	req := benchRequest(es256Token(b, key, benchCaller))

	configs := []struct {
		name    string
		caching string
	}{
		{"without_value_cache", ""},
		{"with_value_cache", `{}`},
		{"with_verified_token_cache", `{"inter_query_builtin_value_cache": ` +
			`{"named": {"io_jwt": {"max_num_entries": 1000}}}}`},
	}
	for _, config := range configs {
		b.Run(config.name, func(b *testing.B) {
			authz := newBenchAuthorizer(b, policy)
			authz.valueCache = func() cache.InterQueryValueCache { return nil }
			if config.caching != "" {
				parsed, err := cache.ParseCachingConfig([]byte(config.caching))
				if err != nil {
					b.Fatal(err)
				}
				valueCache := cache.NewInterQueryValueCache(context.Background(), parsed)
				authz.valueCache = func() cache.InterQueryValueCache { return valueCache }
			}
			benchmarkCheck(b, authz, req)
		})
	}
}

func benchmarkCheck(b *testing.B, authz *authorizer, req *authv3.CheckRequest) {
	ctx := context.Background()
	response, err := authz.Check(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	if got := response.GetStatus().GetCode(); got != 0 {
		b.Fatalf("expected the request to be allowed, got status %d: %v", got, response)
	}

	// Wall time per decision includes waiting for a CPU on a busy machine. The process's
	// user and system time per decision does not, but it includes the garbage collector.
	b.ReportAllocs()
	started := processCPUTime(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := authz.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPUTime(b)-started)/float64(b.N), "cpu-ns/op")
}

// processCPUTime returns the user and system CPU time of the process so far.
func processCPUTime(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
