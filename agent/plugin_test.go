package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// socketDirectory returns a short temporary directory, because t.TempDir() paths can
// exceed the 107 bytes a Unix socket path may have.
func socketDirectory(t *testing.T) string {
	t.Helper()
	directory, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(directory) })
	return directory
}

func newTestPlugin(t *testing.T, addr string) (*Plugin, *plugins.Manager) {
	t.Helper()
	manager, err := plugins.New([]byte(`{}`), "test", inmem.New())
	if err != nil {
		t.Fatalf("create the plugin manager: %v", err)
	}
	cfg, err := Factory{}.Validate(manager, []byte(`{"addr": "`+addr+`", "path": "envoy/authz/result"}`))
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	plugin := Factory{}.New(manager, cfg).(*Plugin)
	t.Cleanup(func() { plugin.Stop(context.Background()) })
	return plugin, manager
}

// check sends one Check for GET / to the server at target, e.g. "unix:///tmp/a.sock".
func check(t *testing.T, target string) *authv3.CheckResponse {
	t.Helper()
	connection, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("connect to %s: %v", target, err)
	}
	defer connection.Close()
	response, err := authv3.NewAuthorizationClient(connection).Check(
		context.Background(), checkRequest("GET", "/", nil, ""))
	if err != nil {
		t.Fatalf("Check via %s: %v", target, err)
	}
	return response
}

func pluginState(manager *plugins.Manager) plugins.State {
	status := manager.PluginStatus()[PluginName]
	if status == nil {
		return ""
	}
	return status.State
}

func TestPluginServesOnUnixSocketAndStops(t *testing.T) {
	socket := filepath.Join(socketDirectory(t), "authz.sock")
	plugin, manager := newTestPlugin(t, "unix://"+socket)
	stateBeforeStart := pluginState(manager)

	if err := plugin.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	stateAfterStart := pluginState(manager)
	response := check(t, "unix://"+socket)
	plugin.Stop(context.Background())

	if stateBeforeStart != plugins.StateNotReady {
		t.Errorf("state before Start = %q, expected NOT_READY", stateBeforeStart)
	}
	if stateAfterStart != plugins.StateOK {
		t.Errorf("state after Start = %q, expected OK", stateAfterStart)
	}
	// No bundle is active, so the agent denies.
	if response.GetStatus().GetCode() != int32(code.Code_UNAVAILABLE) {
		t.Errorf("Check status = %v, expected UNAVAILABLE", response.GetStatus())
	}
	if pluginState(manager) != plugins.StateNotReady {
		t.Errorf("state after Stop = %q, expected NOT_READY", pluginState(manager))
	}
	if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still exists after Stop: %v", socket, err)
	}
}

func TestPluginReconfigureMovesListener(t *testing.T) {
	directory := socketDirectory(t)
	first := filepath.Join(directory, "first.sock")
	second := filepath.Join(directory, "second.sock")
	plugin, manager := newTestPlugin(t, "unix://"+first)
	if err := plugin.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	cfg, err := Factory{}.Validate(manager, []byte(`{"addr": "unix://`+second+`", "path": "envoy/authz/allow"}`))
	if err != nil {
		t.Fatalf("validate: %v", err)
	}

	plugin.Reconfigure(context.Background(), cfg)
	response := check(t, "unix://"+second)

	if _, err := os.Lstat(first); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old socket %s still exists after Reconfigure: %v", first, err)
	}
	if !strings.HasSuffix(response.GetStatus().GetMessage(), "entrypoint data.envoy.authz.allow") {
		t.Errorf("Check after Reconfigure used %q, expected the new path", response.GetStatus().GetMessage())
	}
}

func TestPluginReplacesStaleSocket(t *testing.T) {
	socket := filepath.Join(socketDirectory(t), "authz.sock")
	// A socket file whose listener is gone, as a killed agent leaves it.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	_ = stale.Close()
	plugin, _ := newTestPlugin(t, "unix://"+socket)

	err = plugin.Start(context.Background())

	if err != nil {
		t.Fatalf("Start over a stale socket: %v", err)
	}
	if response := check(t, "unix://"+socket); response.GetStatus() == nil {
		t.Errorf("no response from the restarted agent")
	}
}

func TestPluginKeepsLiveSocket(t *testing.T) {
	socket := filepath.Join(socketDirectory(t), "authz.sock")
	live, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	plugin, manager := newTestPlugin(t, "unix://"+socket)

	err = plugin.Start(context.Background())

	var listenErr *ListenError
	if !errors.As(err, &listenErr) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start over a live socket: error %v, expected a ListenError with EADDRINUSE", err)
	}
	if pluginState(manager) != plugins.StateErr {
		t.Errorf("state = %q, expected ERROR", pluginState(manager))
	}
	if _, err := os.Lstat(socket); err != nil {
		t.Errorf("the live socket %s was removed: %v", socket, err)
	}
}
