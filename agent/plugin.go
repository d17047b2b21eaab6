package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/plugins"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
)

// PluginName is the plugin's key under "plugins" in the OPA configuration file.
const PluginName = "envoy_ext_authz_wasm"

// Factory validates the plugin configuration and creates the plugin. OPA's runtime calls
// it for the "plugins.envoy_ext_authz_wasm" section.
type Factory struct{}

// Validate parses the plugin's configuration. OPA prints a returned error and exits.
func (Factory) Validate(_ *plugins.Manager, raw []byte) (any, error) {
	return parseConfig(raw)
}

// New creates the plugin, which does not listen and reports NOT_READY until Start.
func (Factory) New(manager *plugins.Manager, config any) plugins.Plugin {
	cfg := config.(*Config)
	lockRESTEvaluations(manager)
	plugin := &Plugin{
		manager:    manager,
		config:     cfg,
		authorizer: newAuthorizer(manager, cfg),
	}
	manager.UpdatePluginStatus(PluginName, &plugins.Status{State: plugins.StateNotReady})
	return plugin
}

// Plugin serves envoy.service.auth.v3.Authorization on the configured address and
// answers every Check from the WebAssembly module of the active bundle.
type Plugin struct {
	manager    *plugins.Manager
	authorizer *authorizer

	mutex    sync.Mutex
	config   *Config
	server   *grpc.Server
	listener net.Listener
	served   chan struct{}
}

// Start listens on the configured address and serves in the background. A listen error
// (an address in use, a socket directory that does not exist) is returned, so that OPA
// exits with it instead of running an agent that no sidecar can reach.
func (p *Plugin) Start(_ context.Context) error {
	p.mutex.Lock()
	defer p.mutex.Unlock()
	return p.startLocked()
}

// Stop stops the gRPC server gracefully: calls in flight finish, and new ones are rejected.
func (p *Plugin) Stop(ctx context.Context) {
	p.mutex.Lock()
	defer p.mutex.Unlock()
	p.stopLocked(ctx)
	p.manager.UpdatePluginStatus(PluginName, &plugins.Status{State: plugins.StateNotReady})
}

// Reconfigure applies a configuration that OPA's discovery delivered. A new address or
// reflection setting restarts the server; a new path takes effect on the next Check.
func (p *Plugin) Reconfigure(ctx context.Context, config any) {
	cfg := config.(*Config)
	p.mutex.Lock()
	defer p.mutex.Unlock()
	restart := cfg.Addr != p.config.Addr || cfg.EnableReflection != p.config.EnableReflection
	p.config = cfg
	p.authorizer.setConfig(cfg)
	if !restart {
		return
	}
	p.stopLocked(ctx)
	if err := p.startLocked(); err != nil {
		p.manager.Logger().Error("Restarting the ext_authz gRPC server failed: %v.", err)
	}
}

func (p *Plugin) startLocked() error {
	cfg := p.config
	listener, err := listen(cfg)
	if err != nil {
		p.manager.UpdatePluginStatus(PluginName,
			&plugins.Status{State: plugins.StateErr, Message: err.Error()})
		return err
	}

	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, p.authorizer)
	if cfg.EnableReflection {
		reflection.Register(server)
	}
	served := make(chan struct{})
	p.server, p.listener, p.served = server, listener, served

	logger := p.manager.Logger().WithFields(map[string]any{
		"addr":              cfg.Addr,
		"path":              cfg.Path,
		"enable_reflection": cfg.EnableReflection,
	})
	logger.Info("Starting the ext_authz gRPC server; decisions come from the bundle's WebAssembly module.")
	p.manager.UpdatePluginStatus(PluginName, &plugins.Status{State: plugins.StateOK})

	go func() {
		defer close(served)
		if err := server.Serve(listener); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			logger.Error("The ext_authz gRPC server failed: %v.", err)
			p.manager.UpdatePluginStatus(PluginName,
				&plugins.Status{State: plugins.StateErr, Message: err.Error()})
		}
	}()
	return nil
}

func (p *Plugin) stopLocked(ctx context.Context) {
	if p.server == nil {
		return
	}
	stopped := make(chan struct{})
	go func() {
		p.server.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		p.server.Stop()
	}
	// Serve closed the listener, and closing a Unix listener removes its socket file.
	<-p.served
	p.server, p.listener, p.served = nil, nil, nil
}

// ListenError is a failure to open the gRPC listener when the plugin starts.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("the ext_authz gRPC server cannot listen on %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

func listen(cfg *Config) (net.Listener, error) {
	if cfg.network == "unix" {
		removeStaleSocket(cfg.address)
	}
	listener, err := net.Listen(cfg.network, cfg.address)
	if err != nil {
		return nil, &ListenError{Addr: cfg.Addr, Err: err}
	}
	return listener, nil
}

// removeStaleSocket removes a socket file that a killed agent left behind, which would
// make Listen fail. A socket that accepts connections belongs to a running process and
// is kept, and so is any file that is not a socket.
func removeStaleSocket(path string) {
	info, err := os.Lstat(path)
	if err != nil || info.Mode().Type() != os.ModeSocket {
		return
	}
	connection, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = connection.Close()
		return
	}
	_ = os.Remove(path)
}
