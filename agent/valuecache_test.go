package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
)

// recordingValueCache counts, per named cache, the lookups that found a value and the
// values inserted.
type recordingValueCache struct {
	cache.InterQueryValueCache

	mutex   sync.Mutex
	hits    map[string]int
	inserts map[string]int
}

func newRecordingValueCache(config *cache.Config) *recordingValueCache {
	return &recordingValueCache{
		InterQueryValueCache: cache.NewInterQueryValueCache(context.Background(), config),
		hits:                 map[string]int{},
		inserts:              map[string]int{},
	}
}

func (c *recordingValueCache) GetCache(name string) cache.InterQueryValueCacheBucket {
	bucket := c.InterQueryValueCache.GetCache(name)
	if bucket == nil {
		return nil
	}
	return recordingBucket{InterQueryValueCacheBucket: bucket, name: name, parent: c}
}

func (c *recordingValueCache) counts(name string) (hits, inserts int) {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.hits[name], c.inserts[name]
}

type recordingBucket struct {
	cache.InterQueryValueCacheBucket
	name   string
	parent *recordingValueCache
}

func (b recordingBucket) Get(key ast.Value) (any, bool) {
	value, found := b.InterQueryValueCacheBucket.Get(key)
	if found {
		b.parent.mutex.Lock()
		b.parent.hits[b.name]++
		b.parent.mutex.Unlock()
	}
	return value, found
}

func (b recordingBucket) Insert(key ast.Value, value any) int {
	b.parent.mutex.Lock()
	b.parent.inserts[b.name]++
	b.parent.mutex.Unlock()
	return b.InterQueryValueCacheBucket.Insert(key, value)
}

func TestCheckReusesParsedTokenKeys(t *testing.T) {
	registerValueCacheSupport()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authz := newBenchAuthorizer(t, authzPolicyBundle(t, key))
	valueCache := newRecordingValueCache(authz.manager.InterQueryBuiltinCacheConfig())
	authz.valueCache = func() cache.InterQueryValueCache { return valueCache }
	req := benchRequest(es256Token(t, key, benchCaller))

	for i := range 3 {
		response, err := authz.Check(context.Background(), req)
		if err != nil {
			t.Fatalf("decision %d: %v", i+1, err)
		}
		if got := response.GetStatus().GetCode(); got != 0 {
			t.Fatalf("decision %d: expected status 0 (allowed), got %d", i+1, got)
		}
	}

	hits, inserts := valueCache.counts("io_jwt_keys")
	if inserts != 1 {
		t.Errorf("expected the issuer's keys parsed and cached once, got %d inserts", inserts)
	}
	if hits != 2 {
		t.Errorf("expected the second and third decisions to find the keys cached, got %d hits", hits)
	}
	// OPA leaves the verified-token cache off unless the configuration enables it.
	if hits, inserts := valueCache.counts("io_jwt"); hits != 0 || inserts != 0 {
		t.Errorf("expected the disabled io_jwt cache unused, got %d hits and %d inserts", hits, inserts)
	}
}

func TestCheckWithoutValueCacheStillDecides(t *testing.T) {
	registerValueCacheSupport()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authz := newBenchAuthorizer(t, authzPolicyBundle(t, key))
	authz.valueCache = func() cache.InterQueryValueCache { return nil }

	response, err := authz.Check(context.Background(), benchRequest(es256Token(t, key, benchCaller)))
	if err != nil {
		t.Fatal(err)
	}
	if got := response.GetStatus().GetCode(); got != 0 {
		t.Fatalf("expected status 0 (allowed), got %d", got)
	}
}

func TestValueCacheHookStoresServerCache(t *testing.T) {
	var holder atomic.Pointer[valueCacheHolder]
	serverCache := cache.NewInterQueryValueCache(context.Background(), nil)
	if err := (valueCacheHook{cache: &holder}).OnInterQueryValueCache(context.Background(), serverCache); err != nil {
		t.Fatal(err)
	}
	if holder.Load() == nil || holder.Load().cache != serverCache {
		t.Fatalf("expected the hook to store the server's cache, got %v", holder.Load())
	}
}

func TestBuiltinWrapperFillsOnlyMissingCache(t *testing.T) {
	fromContext := cache.NewInterQueryValueCache(context.Background(), nil)
	own := cache.NewInterQueryValueCache(context.Background(), nil)
	var seen cache.InterQueryValueCache
	wrapped := withContextValueCache(func(bctx topdown.BuiltinContext, _ []*ast.Term, _ func(*ast.Term) error) error {
		seen = bctx.InterQueryBuiltinValueCache
		return nil
	})
	ctx := withValueCache(context.Background(), fromContext)

	cases := []struct {
		name     string
		bctx     topdown.BuiltinContext
		expected cache.InterQueryValueCache
	}{
		{"no cache takes the context's", topdown.BuiltinContext{Context: ctx}, fromContext},
		{"own cache is kept", topdown.BuiltinContext{Context: ctx, InterQueryBuiltinValueCache: own}, own},
		{"no cache in context stays nil", topdown.BuiltinContext{Context: context.Background()}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			if err := wrapped(tc.bctx, nil, nil); err != nil {
				t.Fatal(err)
			}
			if seen != tc.expected {
				t.Errorf("expected cache %p, got %p", tc.expected, seen)
			}
		})
	}
}
