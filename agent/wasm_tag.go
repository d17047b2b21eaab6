//go:build !opa_wasm

package main

// Without the build tag opa_wasm, OPA v1.22.4 has no WebAssembly runtime, and the agent
// could activate bundles but never decide a request. The undefined name below stops such
// a build: build and test with `-tags opa_wasm`, as scripts/setup does.
var _ = buildWithTagsOpaWasm
