package main

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/runtime"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
)

// OPA's Rego evaluator hands every builtin the server's inter-query value cache. In it,
// io.jwt.decode_verify keeps the keys it parsed from a "cert" constraint (the io_jwt_keys
// cache, on by default) and, when configured, the tokens it verified (io_jwt). The
// WebAssembly SDK of OPA v1.22.4 gives the builtins that a module calls back into no such
// cache (internal/wasm/sdk/internal/wasm/bindings.go, builtinDispatcher.Reset). Without
// the wrappers below, the agent would parse the issuers' JWK set on every decision.
//
// Both halves use public OPA APIs: runtime.RegisterHook delivers the server's cache to
// serverValueCache, and each builtin is registered again with a wrapper that fills in
// that cache for the agent's WebAssembly evaluations. The agent therefore shares the
// cache, its size limits and the caching section of its configuration with the REST
// API's Rego evaluations, as stock OPA does.

// valueCacheHook receives the OPA server's inter-query value cache when the server starts.
type valueCacheHook struct {
	cache *atomic.Pointer[valueCacheHolder]
}

type valueCacheHolder struct {
	cache cache.InterQueryValueCache
}

// OnInterQueryValueCache implements hooks.InterQueryValueCacheHook.
func (h valueCacheHook) OnInterQueryValueCache(_ context.Context, c cache.InterQueryValueCache) error {
	h.cache.Store(&valueCacheHolder{cache: c})
	return nil
}

// serverValueCache holds the server's inter-query value cache once the server started.
var serverValueCache atomic.Pointer[valueCacheHolder]

// currentValueCache returns the server's inter-query value cache, or nil before the server
// started (and in `policy-agent` commands that run no server).
func currentValueCache() cache.InterQueryValueCache {
	if holder := serverValueCache.Load(); holder != nil {
		return holder.cache
	}
	return nil
}

type valueCacheKey struct{}

// withValueCache returns ctx carrying c for the builtins that a WebAssembly evaluation
// under ctx calls back into. A nil c leaves ctx unchanged.
func withValueCache(ctx context.Context, c cache.InterQueryValueCache) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, valueCacheKey{}, c)
}

// registerValueCacheSupport registers the hook and wraps every builtin that topdown
// implements. It must run before the runtime is created, because OPA reads registered
// hooks once, and before the first bundle is activated, because each WebAssembly VM looks
// its builtins up when it is created.
// Later calls do nothing, so that no builtin is wrapped twice.
func registerValueCacheSupport() {
	registerValueCacheOnce.Do(func() {
		runtime.RegisterHook(valueCacheHook{cache: &serverValueCache})
		for _, builtin := range ast.Builtins {
			if original := topdown.GetBuiltin(builtin.Name); original != nil {
				topdown.RegisterBuiltinFunc(builtin.Name, withContextValueCache(original))
			}
		}
	})
}

var registerValueCacheOnce sync.Once

// withContextValueCache returns a builtin that calls original with the inter-query value
// cache carried by the evaluation's context, when the caller gave it none. An evaluation
// that has a cache, such as the server's Rego evaluations, keeps its own.
func withContextValueCache(original topdown.BuiltinFunc) topdown.BuiltinFunc {
	return func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
		if bctx.InterQueryBuiltinValueCache == nil && bctx.Context != nil {
			if c, ok := bctx.Context.Value(valueCacheKey{}).(cache.InterQueryValueCache); ok {
				bctx.InterQueryBuiltinValueCache = c
			}
		}
		return original(bctx, operands, iter)
	}
}
