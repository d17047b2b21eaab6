package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/metrics"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// lockedBuffer is a console log output that tests read while the logger may write.
type lockedBuffer struct {
	mutex  sync.Mutex
	buffer bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mutex.Lock()
	defer b.mutex.Unlock()
	return b.buffer.Write(p)
}

// decisionLogs returns the decision log entries written so far.
func (b *lockedBuffer) decisionLogs(t *testing.T) []map[string]any {
	t.Helper()
	b.mutex.Lock()
	defer b.mutex.Unlock()
	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buffer.String()), "\n") {
		if line == "" {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("invalid console log line %q: %v", line, err)
		}
		if entry["msg"] == "Decision Log" {
			entries = append(entries, entry)
		}
	}
	return entries
}

// newCancelTestAuthorizer returns a signing key, an authorizer whose bundle trusts it, and
// the console that the authorizer's decision log writes to.
func newCancelTestAuthorizer(t *testing.T) (*ecdsa.PrivateKey, *authorizer, *lockedBuffer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	console := &lockedBuffer{}
	return key, newLoggingAuthorizer(t, authzPolicyBundle(t, key), console), console
}

func TestCheckRejectsCallWhoseCallerGaveUp(t *testing.T) {
	key, authz, console := newCancelTestAuthorizer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	response, err := authz.Check(ctx, benchRequest(es256Token(t, key, benchCaller)))

	if response != nil {
		t.Errorf("expected no response, got %v", response)
	}
	if got := status.Code(err); got != codes.Canceled {
		t.Errorf("expected gRPC code Canceled, got %v (%v)", got, err)
	}
	if entries := console.decisionLogs(t); len(entries) != 0 {
		t.Errorf("expected no decision log entry for an undecided call, got %v", entries)
	}
}

func TestDecisionLoggedAfterCallerGaveUp(t *testing.T) {
	key, authz, console := newCancelTestAuthorizer(t)
	ctx, cancel := context.WithCancel(context.Background())
	store := authz.manager.Store
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Abort(context.Background(), txn)
	cfg := authz.currentConfig()
	current := &decision{id: "decision-1", metrics: metrics.New()}
	_, outcome := authz.decide(ctx, txn, cfg, benchRequest(es256Token(t, key, benchCaller)), current)
	if outcome != "allowed" {
		t.Fatalf("expected the request allowed, got outcome %q (%v)", outcome, current.err)
	}

	// Envoy's timeout passes after the decision and before it is logged.
	cancel()
	authz.logDecision(ctx, txn, cfg, current)

	entries := console.decisionLogs(t)
	if len(entries) != 1 {
		t.Fatalf("expected one decision log entry, got %d: %v", len(entries), entries)
	}
	if got := entries[0]["decision_id"]; got != "decision-1" {
		t.Errorf("expected decision_id decision-1, got %v", got)
	}
	erased, _ := entries[0]["erased"].([]any)
	expected := "/input/attributes/request/http/headers/authorization"
	if len(erased) != 1 || erased[0] != expected {
		t.Errorf("expected the mask policy to erase [%s], got %v", expected, entries[0]["erased"])
	}
}

func TestCheckSkipsCallCancelledWhileWaiting(t *testing.T) {
	key, authz, console := newCancelTestAuthorizer(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Another evaluation holds the lock while the caller gives up.
	authz.evaluation.Lock()
	waiting := make(chan struct{})
	authz.waitingForEvaluation = func() { close(waiting) }
	type outcome struct {
		response any
		err      error
	}
	done := make(chan outcome, 1)
	go func() {
		response, err := authz.Check(ctx, benchRequest(es256Token(t, key, benchCaller)))
		done <- outcome{response, err}
	}()
	<-waiting
	cancel()
	authz.evaluation.Unlock()
	got := <-done

	if got.err == nil {
		t.Fatalf("expected an error, got response %v", got.response)
	}
	if code := status.Code(got.err); code != codes.Canceled {
		t.Errorf("expected gRPC code Canceled, got %v (%v)", code, got.err)
	}
	if entries := console.decisionLogs(t); len(entries) != 0 {
		t.Errorf("expected no decision log entry for an undecided call, got %v", entries)
	}
}
