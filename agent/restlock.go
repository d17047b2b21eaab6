package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
)

// wasmEvaluation lets one WebAssembly evaluation run at a time in the process. In OPA
// v1.22.4 the result is a view of the module's memory, parsed after the module went back
// to its pool (internal/wasm/sdk/opa/opa.go and v1/resolver/wasm/wasm.go, Eval). Another
// evaluation on that module can overwrite the result during the parse. The ext_authz
// checks and the REST API's queries evaluate through the same resolvers, so both take it.
var wasmEvaluation sync.Mutex

// lockedManagers records the plugin managers whose REST API already takes wasmEvaluation.
var lockedManagers sync.Map

// lockRESTEvaluations makes the manager's REST API take wasmEvaluation for every request
// that may evaluate a policy. Call it before OPA's server starts, as from Factory.New.
//
// NOTE: OPA creates plugins before its server when the configuration file lists them.
// When a discovery service delivers the plugin later, the server is already built
// without this middleware, and REST queries then run outside the lock.
func lockRESTEvaluations(manager *plugins.Manager) {
	if _, done := lockedManagers.LoadOrStore(manager, true); done {
		return
	}
	logger := manager.Logger()
	manager.ExtraMiddleware(func(next http.Handler) http.Handler {
		return serializeEvaluations(next, logger)
	})
}

// serializeEvaluations runs next under wasmEvaluation unless the request cannot evaluate
// a policy. The request body is read before and the response is written after the lock,
// so that a slow client never holds back the ext_authz checks.
func serializeEvaluations(next http.Handler, logger logging.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mayEvaluate(r) {
			next.ServeHTTP(w, r)
			return
		}

		if r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				logger.Error("REST API: failed to read the body of %s %s: %v", r.Method, r.URL.Path, err)
				http.Error(w, "failed to read the request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}

		response := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		serveLocked(next, response, r)

		for name, values := range response.header {
			w.Header()[name] = values
		}
		w.WriteHeader(response.status)
		_, _ = w.Write(response.body.Bytes())
	})
}

// serveLocked runs next under wasmEvaluation. The deferred unlock also runs when next
// panics (net/http recovers handler panics), so a failed query never blocks the checks.
func serveLocked(next http.Handler, w http.ResponseWriter, r *http.Request) {
	wasmEvaluation.Lock()
	defer wasmEvaluation.Unlock()
	next.ServeHTTP(w, r)
}

// mayEvaluate reports whether OPA's REST API could evaluate a policy, and so a
// WebAssembly entrypoint, for the request. Health without a policy path, status, config
// and policy listing only read state.
func mayEvaluate(r *http.Request) bool {
	path := r.URL.Path
	switch {
	case r.Method != http.MethodGet:
		return true
	case path == "/health", path == "/metrics", path == "/v1/status", path == "/v1/config":
		return false
	case path == "/v1/policies", strings.HasPrefix(path, "/v1/policies/"):
		return false
	case strings.HasPrefix(path, "/debug/pprof/"):
		return false
	}
	return true
}

// bufferedResponse is a response held in memory until the evaluation lock is released.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status = status
		b.wroteHeader = true
	}
}

func (b *bufferedResponse) Write(data []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(data)
}
