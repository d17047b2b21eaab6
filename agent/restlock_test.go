package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// startRESTServer serves OPA's REST API for the authorizer's plugin manager on loopback,
// with the middleware that Factory.New registers.
func startRESTServer(t *testing.T, authz *authorizer) *httptest.Server {
	t.Helper()
	lockRESTEvaluations(authz.manager)
	opaServer, err := server.New().
		WithStore(authz.manager.Store).
		WithManager(authz.manager).
		WithAddresses([]string{"127.0.0.1:0"}).
		Init(context.Background())
	if err != nil {
		t.Fatalf("initialize the REST server: %v", err)
	}
	httpServer := httptest.NewServer(opaServer.Handler)
	t.Cleanup(httpServer.Close)
	return httpServer
}

// queryPath queries the REST API for the entrypoint's result for path, and returns the
// x-path header that the echo policy put in it.
func queryPath(client *http.Client, url, path string) (string, error) {
	input := map[string]any{"input": map[string]any{
		"attributes": map[string]any{"request": map[string]any{"http": map[string]any{"path": path}}},
	}}
	body, err := json.Marshal(input)
	if err != nil {
		return "", err
	}
	response, err := client.Post(url+"/v1/data/envoy/authz/result", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer response.Body.Close()

	var decoded struct {
		Result struct {
			Headers map[string]string `json:"headers"`
		} `json:"result"`
	}
	if response.StatusCode != http.StatusOK {
		return "", fmt.Errorf("unexpected status %d", response.StatusCode)
	}
	if err := json.NewDecoder(response.Body).Decode(&decoded); err != nil {
		return "", err
	}
	return decoded.Result.Headers["x-path"], nil
}

// The REST API's queries evaluate through the same WebAssembly resolvers as the checks,
// so a query that ran outside the evaluation lock could overwrite a check's result.
func TestRESTQueriesAndChecksGetOwnDecision(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))

	authz := newTestAuthorizer(t, map[string]*bundle.Bundle{"authz": wasmBundle(t, echoPolicy)})
	rest := startRESTServer(t, authz)
	client := rest.Client()
	const workers, callsPerWorker = 16, 200
	var wg sync.WaitGroup
	failures := make(chan string, 2*workers*callsPerWorker)

	for worker := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for call := range callsPerWorker {
				path := fmt.Sprintf("/check/%s/%d/%d", strings.Repeat("c", ((worker*7+call)%5)*400), worker, call)
				response, err := authz.Check(context.Background(), checkRequest("GET", path, nil, ""))
				if err != nil {
					failures <- fmt.Sprintf("check %d/%d: %v", worker, call, err)
					continue
				}
				headers := response.GetOkResponse().GetHeaders()
				if len(headers) != 1 || headers[0].GetHeader().GetValue() != path {
					failures <- fmt.Sprintf("check %d/%d: status %q, %d headers", worker, call, response.GetStatus().GetMessage(), len(headers))
				}
			}
		}()
		go func() {
			defer wg.Done()
			for call := range callsPerWorker {
				path := fmt.Sprintf("/query/%s/%d/%d", strings.Repeat("q", ((worker*3+call)%5)*300), worker, call)
				got, err := queryPath(client, rest.URL, path)
				if err != nil {
					failures <- fmt.Sprintf("query %d/%d: %v", worker, call, err)
					continue
				}
				if got != path {
					failures <- fmt.Sprintf("query %d/%d: x-path of %d bytes, expected %d", worker, call, len(got), len(path))
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	reportWrongDecisions(t, failures, 2*workers*callsPerWorker)
}

func TestMayEvaluateSkipsReadOnlyRoutes(t *testing.T) {
	cases := []struct {
		method, path string
		expected     bool
	}{
		{"GET", "/health", false},
		{"GET", "/metrics", false},
		{"GET", "/v1/status", false},
		{"GET", "/v1/config", false},
		{"GET", "/v1/policies", false},
		{"GET", "/v1/policies/authz/policy.rego", false},
		{"GET", "/health/ready", true},
		{"GET", "/v1/data", true},
		{"GET", "/v1/data/envoy/authz/result", true},
		{"POST", "/v1/data/envoy/authz/result", true},
		{"POST", "/v1/query", true},
		{"GET", "/v1/query", true},
		{"POST", "/", true},
		{"PUT", "/v1/policies/x", true},
	}
	for _, c := range cases {
		request := httptest.NewRequest(c.method, c.path, nil)
		if got := mayEvaluate(request); got != c.expected {
			t.Errorf("mayEvaluate(%s %s) = %v, expected %v", c.method, c.path, got, c.expected)
		}
	}
}

func TestFactoryNewRegistersRESTLockOnce(t *testing.T) {
	manager, err := plugins.New([]byte(`{}`), "test", inmem.New())
	if err != nil {
		t.Fatalf("create the plugin manager: %v", err)
	}
	cfg, err := parseConfig([]byte(`{"addr": "127.0.0.1:9191", "path": "envoy/authz/result"}`))
	if err != nil {
		t.Fatal(err)
	}

	Factory{}.New(manager, cfg)
	Factory{}.New(manager, cfg)

	if got := len(manager.ExtraMiddlewares()); got != 1 {
		t.Errorf("the manager has %d extra middlewares, expected 1", got)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestSerializeEvaluationsRejectsUnreadableBody(t *testing.T) {
	called := false
	handler := serializeEvaluations(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		called = true
	}), logging.NewNoOpLogger())
	recorder := httptest.NewRecorder()

	handler.ServeHTTP(recorder, httptest.NewRequest("POST", "/v1/data/x", failingReader{}))

	if recorder.Code != http.StatusBadRequest {
		t.Errorf("status %d, expected 400", recorder.Code)
	}
	if body := recorder.Body.String(); body != "failed to read the request body: connection reset\n" {
		t.Errorf("body %q", body)
	}
	if called {
		t.Errorf("the REST handler ran for a body that could not be read")
	}
}

func TestSerializeEvaluationsKeepsStatusAndHeaders(t *testing.T) {
	handler := serializeEvaluations(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("echo:"), body...))
	}), logging.NewNoOpLogger())
	recorder := httptest.NewRecorder()

	handler.ServeHTTP(recorder, httptest.NewRequest("POST", "/v1/data/x", strings.NewReader(`{"input":1}`)))

	if recorder.Code != http.StatusCreated {
		t.Errorf("status %d, expected 201", recorder.Code)
	}
	if got := recorder.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, expected application/json", got)
	}
	if body := recorder.Body.String(); body != `echo:{"input":1}` {
		t.Errorf("body %q", body)
	}
}

func TestSerializeEvaluationsUnlocksAfterPanic(t *testing.T) {
	handler := serializeEvaluations(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("query failed")
	}), logging.NewNoOpLogger())

	func() {
		defer func() { _ = recover() }()
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/data/x", nil))
	}()

	if !wasmEvaluation.TryLock() {
		t.Fatal("the evaluation lock is still held after a panicking REST handler")
	}
	wasmEvaluation.Unlock()
}
