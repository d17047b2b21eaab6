package main

import (
	"strings"
	"testing"
)

func TestParseConfigAcceptsLoopbackAndUnixSocket(t *testing.T) {
	cases := []struct {
		raw        string
		network    string
		address    string
		entrypoint string
		reflection bool
	}{
		{`{"addr": "127.0.0.1:9191", "path": "envoy/authz/result"}`,
			"tcp", "127.0.0.1:9191", "data.envoy.authz.result", false},
		{`{"addr": "[::1]:9191", "path": "/envoy/authz/allow", "enable_reflection": true}`,
			"tcp", "[::1]:9191", "data.envoy.authz.allow", true},
		{`{"addr": "127.0.0.2:1", "path": "x"}`, "tcp", "127.0.0.2:1", "data.x", false},
		{`{"addr": "unix:///run/agent/authz.sock", "path": "envoy/authz/result"}`,
			"unix", "/run/agent/authz.sock", "data.envoy.authz.result", false},
	}
	for _, tc := range cases {
		cfg, err := parseConfig([]byte(tc.raw))
		if err != nil {
			t.Fatalf("parseConfig(%s): unexpected error %v", tc.raw, err)
		}
		if cfg.network != tc.network {
			t.Errorf("parseConfig(%s).network = %q, expected %q", tc.raw, cfg.network, tc.network)
		}
		if cfg.address != tc.address {
			t.Errorf("parseConfig(%s).address = %q, expected %q", tc.raw, cfg.address, tc.address)
		}
		if cfg.entrypoint.String() != tc.entrypoint {
			t.Errorf("parseConfig(%s).entrypoint = %s, expected %s", tc.raw, cfg.entrypoint, tc.entrypoint)
		}
		if cfg.EnableReflection != tc.reflection {
			t.Errorf("parseConfig(%s).EnableReflection = %v, expected %v",
				tc.raw, cfg.EnableReflection, tc.reflection)
		}
	}
}

func TestParseConfigRejectsBadValues(t *testing.T) {
	longSocket := "unix:///" + strings.Repeat("s", maxUnixSocketPathBytes)
	cases := []struct {
		raw      string
		expected string
	}{
		{`null`, `invalid plugins.envoy_ext_authz_wasm null; expected an object with keys addr, path, enable_reflection`},
		{`[1]`, `invalid plugins.envoy_ext_authz_wasm [1]; expected an object with keys addr, path, enable_reflection`},
		{`{"path": "envoy/authz/result"}`,
			`missing plugins.envoy_ext_authz_wasm.addr; expected '127.0.0.1:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": "127.0.0.1:9191"}`,
			`missing plugins.envoy_ext_authz_wasm.path; expected a rule path such as 'envoy/authz/result'`},
		{`{"addr": 9191, "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr 9191; expected '127.0.0.1:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": "0.0.0.0:9191", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "0.0.0.0:9191"; expected a loopback address: '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": ":9191", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr ":9191"; expected a loopback address: '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": "localhost:9191", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "localhost:9191"; expected a loopback address: '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": "127.0.0.1", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "127.0.0.1"; expected '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'`},
		{`{"addr": "127.0.0.1:0", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "127.0.0.1:0"; expected '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock' with a port from 1 to 65535`},
		{`{"addr": "127.0.0.1:65536", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "127.0.0.1:65536"; expected '127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock' with a port from 1 to 65535`},
		{`{"addr": "unix://relative.sock", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "unix://relative.sock"; expected 'unix:///absolute/path.sock'`},
		{`{"addr": "` + longSocket + `", "path": "a"}`,
			`invalid plugins.envoy_ext_authz_wasm.addr "` + longSocket + `"; expected a unix socket path of at most 107 bytes, it has 108`},
		{`{"addr": "127.0.0.1:9191", "path": ""}`,
			`invalid plugins.envoy_ext_authz_wasm.path ""; expected a rule path such as 'envoy/authz/result': Rego identifiers separated by '/'`},
		{`{"addr": "127.0.0.1:9191", "path": "envoy.authz.result"}`,
			`invalid plugins.envoy_ext_authz_wasm.path "envoy.authz.result"; expected a rule path such as 'envoy/authz/result': Rego identifiers separated by '/'`},
		{`{"addr": "127.0.0.1:9191", "path": "envoy//result"}`,
			`invalid plugins.envoy_ext_authz_wasm.path "envoy//result"; expected a rule path such as 'envoy/authz/result': Rego identifiers separated by '/'`},
		{`{"addr": "127.0.0.1:9191", "path": "a", "enable_reflection": "yes"}`,
			`invalid plugins.envoy_ext_authz_wasm.enable_reflection "yes"; expected true or false`},
		{`{"addr": "127.0.0.1:9191", "path": "a", "dry-run": true}`,
			`unknown key plugins.envoy_ext_authz_wasm.dry-run; accepted keys are addr, path, enable_reflection`},
	}
	for _, tc := range cases {
		_, err := parseConfig([]byte(tc.raw))
		if err == nil {
			t.Errorf("parseConfig(%s): expected error %q, got none", tc.raw, tc.expected)
			continue
		}
		if err.Error() != tc.expected {
			t.Errorf("parseConfig(%s) error:\n got      %s\n expected %s", tc.raw, err, tc.expected)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("parseConfig(%s) error spans more than one line: %q", tc.raw, err)
		}
	}
}
