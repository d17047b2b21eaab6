// Command policy-agent is OPA's own runtime with one more plugin, envoy_ext_authz_wasm,
// which serves Envoy's ext_authz gRPC API and decides each request with the WebAssembly
// module of the active bundle.
//
// Everything else (bundle download, signature verification, persistence, status, health,
// decision logs, the REST API and every command line flag) is stock OPA v1.22.4, so
// `policy-agent run --server --config-file F` and `policy-agent version` behave as the
// same commands of opa do.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/open-policy-agent/opa/cmd"
	"github.com/open-policy-agent/opa/v1/runtime"
)

func main() {
	registerValueCacheSupport()
	runtime.RegisterPlugin(PluginName, Factory{})

	if err := cmd.RootCommand.Execute(); err != nil {
		// OPA v1.22.4 logs a plugin's start error through a logger that it flushes only
		// after every plugin started, so without this line the agent would exit 1 silently.
		var listenErr *ListenError
		if errors.As(err, &listenErr) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		var exit *cmd.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.Exit)
		}
		os.Exit(1)
	}
}
