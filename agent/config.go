package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxUnixSocketPathBytes is the room in sockaddr_un.sun_path on Linux (108 bytes) less the
// terminating NUL.
const maxUnixSocketPathBytes = 107

const unixScheme = "unix://"

// configKey is the plugin's section in the OPA configuration, which every error names.
const configKey = "plugins." + PluginName

var (
	configKeys = []string{"addr", "path", "enable_reflection"}
	// A rule path is '/'-separated Rego identifiers, e.g. envoy/authz/result.
	rulePath = regexp.MustCompile(`^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// Config is the plugin's section of the OPA configuration file,
// plugins.envoy_ext_authz_wasm.
type Config struct {
	// Addr is the gRPC server's listen address: "127.0.0.1:PORT", "[::1]:PORT" or
	// "unix:///absolute/path.sock".
	Addr string `json:"addr"`
	// Path is the rule whose value is the decision, relative to data, e.g.
	// "envoy/authz/result". The active bundle must hold a WebAssembly entrypoint for it.
	Path string `json:"path"`
	// EnableReflection registers the gRPC server reflection service.
	EnableReflection bool `json:"enable_reflection"`

	network    string
	address    string
	entrypoint ast.Ref
}

// parseConfig decodes and validates the plugin configuration. Every error names the key,
// the rejected value and what is accepted, because OPA prints it as the reason it exits.
func parseConfig(raw []byte) (*Config, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("invalid %s %s; expected an object with keys %s",
			configKey, compact(raw), strings.Join(configKeys, ", "))
	}
	for key := range fields {
		if !slices.Contains(configKeys, key) {
			return nil, fmt.Errorf("unknown key %s.%s; accepted keys are %s",
				configKey, key, strings.Join(configKeys, ", "))
		}
	}

	cfg := &Config{}
	var err error
	if cfg.Addr, err = requiredString(fields, "addr",
		"'127.0.0.1:PORT' or 'unix:///absolute/path.sock'"); err != nil {
		return nil, err
	}
	if cfg.Path, err = requiredString(fields, "path",
		"a rule path such as 'envoy/authz/result'"); err != nil {
		return nil, err
	}
	if value, ok := fields["enable_reflection"]; ok {
		if err := json.Unmarshal(value, &cfg.EnableReflection); err != nil {
			return nil, fmt.Errorf("invalid %s.enable_reflection %s; expected true or false",
				configKey, compact(value))
		}
	}

	if cfg.network, cfg.address, err = parseAddr(cfg.Addr); err != nil {
		return nil, err
	}
	if cfg.entrypoint, err = parseRulePath(cfg.Path); err != nil {
		return nil, err
	}
	return cfg, nil
}

func requiredString(fields map[string]json.RawMessage, key, accepted string) (string, error) {
	value, ok := fields[key]
	if !ok {
		return "", fmt.Errorf("missing %s.%s; expected %s", configKey, key, accepted)
	}
	var text string
	if err := json.Unmarshal(value, &text); err != nil {
		return "", fmt.Errorf("invalid %s.%s %s; expected %s", configKey, key, compact(value), accepted)
	}
	return text, nil
}

// parseAddr returns the network and address to listen on. TCP is accepted on loopback
// only, because the sidecar's authorization call must not leave the pod.
func parseAddr(addr string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(addr, unixScheme); ok {
		if !strings.HasPrefix(path, "/") || strings.ContainsRune(path, 0) {
			return "", "", fmt.Errorf("invalid "+configKey+".addr %q; expected 'unix:///absolute/path.sock'", addr)
		}
		if len(path) > maxUnixSocketPathBytes {
			return "", "", fmt.Errorf(
				"invalid "+configKey+".addr %q; expected a unix socket path of at most %d bytes, it has %d",
				addr, maxUnixSocketPathBytes, len(path))
		}
		return "unix", path, nil
	}

	accepted := "'127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'"
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("invalid "+configKey+".addr %q; expected %s", addr, accepted)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return "", "", fmt.Errorf(
			"invalid "+configKey+".addr %q; expected a loopback address: %s", addr, accepted)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", "", fmt.Errorf(
			"invalid "+configKey+".addr %q; expected %s with a port from 1 to 65535", addr, accepted)
	}
	return "tcp", net.JoinHostPort(ip.String(), portText), nil
}

// parseRulePath turns "envoy/authz/result" into the reference data.envoy.authz.result,
// the form in which a bundle's manifest names its WebAssembly entrypoints.
func parseRulePath(path string) (ast.Ref, error) {
	if !rulePath.MatchString(path) {
		return nil, fmt.Errorf(
			"invalid "+configKey+".path %q; expected a rule path such as 'envoy/authz/result': "+
				"Rego identifiers separated by '/'", path)
	}
	ref, err := ast.PtrRef(ast.DefaultRootDocument, strings.TrimPrefix(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid "+configKey+".path %q: %v", path, err)
	}
	return ref, nil
}

func compact(raw []byte) string {
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return strconv.Quote(string(raw))
	}
	return out.String()
}
