package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// The policy echoes the request path in a header, so each response shows whose input
// produced it.
const echoPolicy = `package envoy.authz

result := {"allowed": true, "headers": {"x-path": input.attributes.request.http.path}}
`

// OPA v1.22.4's WebAssembly SDK returns the result as a view of the module's memory and
// releases the module to its pool before the resolver parses that view. Checks that run
// at the same time must each still get the decision of their own input, never another
// request's decision or a policy error. Without authorizer.evaluation, 17 and 31 of 9,600
// checks failed in two runs on 2 cores.
func TestConcurrentChecksGetOwnDecision(t *testing.T) {
	// More threads than cores let the OS pause a check between the module's release and
	// the parse of its result, which is when another check can overwrite it. The pool
	// holds as many modules as GOMAXPROCS when the bundle is activated.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))

	authz := newTestAuthorizer(t, map[string]*bundle.Bundle{"authz": wasmBundle(t, echoPolicy)})
	const workers, checksPerWorker = 32, 300
	var wg sync.WaitGroup
	failures := make(chan string, workers*checksPerWorker)

	for worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for check := range checksPerWorker {
				// Paths of different lengths move the result to different addresses.
				path := fmt.Sprintf("/v1/%s/%d/%d", strings.Repeat("x", ((worker*7+check)%5)*400), worker, check)
				response, err := authz.Check(context.Background(), checkRequest("GET", path, nil, ""))
				if err != nil {
					failures <- fmt.Sprintf("%s: %v", path, err)
					continue
				}
				if message := response.GetStatus().GetMessage(); message != "" {
					failures <- fmt.Sprintf("%s: status %s", path, message)
					continue
				}

				headers := response.GetOkResponse().GetHeaders()
				if len(headers) != 1 || headers[0].GetHeader().GetValue() != path {
					failures <- fmt.Sprintf("%s: headers %v", path, headers)
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	reportWrongDecisions(t, failures, workers*checksPerWorker)
}

// reportWrongDecisions fails the test for each failure received, printing the first five.
func reportWrongDecisions(t *testing.T, failures <-chan string, total int) {
	t.Helper()
	count := 0
	for failure := range failures {
		if count < 5 {
			t.Errorf("wrong decision for %s", failure)
		}
		count++
	}
	if count > 0 {
		t.Errorf("%d of %d concurrent calls got another decision than their own", count, total)
	}
}
