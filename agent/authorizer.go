package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/resolver"
	"github.com/open-policy-agent/opa/v1/resolver/wasm"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// Reasons the agent itself gives for a denial, in the x-authz-reason header, when the
// policy could not decide.
const (
	reasonRequestInvalid    = "request-invalid"
	reasonPolicyUnavailable = "policy-unavailable"
	reasonPolicyError       = "policy-error"
)

// evaluator marks the agent's decision log entries (in "custom"), so that a reader of the
// log can tell them from decisions that stock OPA made by interpreting Rego.
const evaluator = "wasm"

// authorizer implements envoy.service.auth.v3.Authorization. It never interprets Rego:
// without a WebAssembly resolver for the configured entrypoint it denies.
type authorizer struct {
	authv3.UnimplementedAuthorizationServer

	manager *plugins.Manager
	metrics *decisionMetrics
	// valueCache returns the inter-query value cache for the builtins that the module
	// calls back into, or nil when there is none yet.
	valueCache func() cache.InterQueryValueCache

	mutex  sync.RWMutex
	config *Config

	// evaluation is wasmEvaluation, which the REST API's queries take too.
	evaluation *sync.Mutex
	// waitingForEvaluation, when set by a test, runs before a call takes the lock.
	waitingForEvaluation func()
}

func newAuthorizer(manager *plugins.Manager, cfg *Config) *authorizer {
	return &authorizer{
		manager:    manager,
		config:     cfg,
		metrics:    newDecisionMetrics(manager),
		valueCache: currentValueCache,
		evaluation: &wasmEvaluation,
	}
}

func (a *authorizer) setConfig(cfg *Config) {
	a.mutex.Lock()
	defer a.mutex.Unlock()
	a.config = cfg
}

func (a *authorizer) currentConfig() *Config {
	a.mutex.RLock()
	defer a.mutex.RUnlock()
	return a.config
}

// decision is one Check's outcome, as the decision log records it.
type decision struct {
	id    string
	input map[string]any
	// inputValue is input as the module received it. OPA's decision log plugin evaluates
	// its mask and drop policies on it instead of converting input again.
	inputValue ast.Value
	result     any
	err        error
	revisions  map[string]server.BundleInfo
	metrics    metrics.Metrics
}

// Check decides one request with the active bundle's WebAssembly module.
//
// A call whose caller gave up before the agent reached it (Envoy's ext_authz timeout
// passed while the call waited for a CPU) is rejected without a decision, because Envoy
// has already denied the request. Under overload this sheds work that no one waits for,
// so the agent catches up instead of spending its CPU on responses that arrive too late.
func (a *authorizer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	started := time.Now()
	if err := ctx.Err(); err != nil {
		a.metrics.observe(outcomeCancelled, time.Since(started))
		return nil, status.FromContextError(err).Err()
	}
	cfg := a.currentConfig()
	current := &decision{id: uuid.NewString(), metrics: metrics.New()}
	current.metrics.Timer(metrics.ServerHandler).Start()

	// The read transaction keeps a bundle activation from committing until the decision is
	// logged, so the logged revision is the one whose module decided.
	store := a.manager.Store
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("open a storage transaction: %w", err)
	}
	defer store.Abort(ctx, txn)

	response, outcome := a.decide(ctx, txn, cfg, req, current)
	if outcome == outcomeCancelled {
		a.metrics.observe(outcomeCancelled, time.Since(started))
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	response.DynamicMetadata = withDecisionID(response.DynamicMetadata, current.id)
	a.logAgentDenial(outcome, current)

	current.metrics.Timer(metrics.ServerHandler).Stop()
	a.metrics.observe(outcome, time.Since(started))
	a.logDecision(ctx, txn, cfg, current)
	return response, nil
}

// decide returns the response and an outcome label: allowed, denied or the reason of an
// agent-side denial. It returns no response and outcomeCancelled when the caller gave up
// while the call waited for the evaluation lock.
func (a *authorizer) decide(
	ctx context.Context,
	txn storage.Transaction,
	cfg *Config,
	req *authv3.CheckRequest,
	current *decision,
) (*authv3.CheckResponse, string) {
	current.revisions = bundleRevisions(ctx, a.manager.Store, txn)

	input, err := buildInput(req)
	if err != nil {
		current.err = err
		return agentDenial(code.Code_INVALID_ARGUMENT, typev3.StatusCode_BadRequest,
			reasonRequestInvalid, err), reasonRequestInvalid
	}
	current.input = input

	module := findResolver(a.manager.GetWasmResolvers(), cfg.entrypoint)
	if module == nil {
		current.err = fmt.Errorf("no active bundle has a WebAssembly module for entrypoint %s",
			cfg.entrypoint)
		return agentDenial(code.Code_UNAVAILABLE, typev3.StatusCode_Forbidden,
			reasonPolicyUnavailable, current.err), reasonPolicyUnavailable
	}

	inputValue, err := ast.InterfaceToValue(input)
	if err != nil {
		current.err = fmt.Errorf("convert the input document: %w", err)
		return agentDenial(code.Code_INTERNAL, typev3.StatusCode_Forbidden,
			reasonPolicyError, current.err), reasonPolicyError
	}
	current.inputValue = inputValue

	if a.waitingForEvaluation != nil {
		a.waitingForEvaluation()
	}
	a.evaluation.Lock()
	if ctx.Err() != nil {
		// The caller gave up while this call waited for the evaluation lock.
		a.evaluation.Unlock()
		return nil, outcomeCancelled
	}
	// A started evaluation runs to its end. OPA discards a module instance cancelled
	// mid-run and compiles a new one, which costs more CPU than the evaluation.
	evalCtx := withValueCache(context.WithoutCancel(ctx), a.valueCache())
	result, err := evaluate(evalCtx, module, cfg.entrypoint, inputValue, current.metrics)
	a.evaluation.Unlock()
	if err != nil {
		current.err = err
		return agentDenial(code.Code_INTERNAL, typev3.StatusCode_Forbidden,
			reasonPolicyError, err), reasonPolicyError
	}
	current.result = result

	response, err := buildResponse(result)
	if err != nil {
		current.err = fmt.Errorf("invalid decision from %s: %w", cfg.entrypoint, err)
		return agentDenial(code.Code_INTERNAL, typev3.StatusCode_Forbidden,
			reasonPolicyError, current.err), reasonPolicyError
	}
	if response.GetStatus().GetCode() == int32(code.Code_OK) {
		return response, "allowed"
	}
	return response, "denied"
}

// findResolver returns the WebAssembly resolver that serves entrypoint, or nil. OPA builds
// one resolver per module of each active bundle, for the entrypoints the manifest lists.
func findResolver(resolvers []*wasm.Resolver, entrypoint ast.Ref) *wasm.Resolver {
	for _, candidate := range resolvers {
		for _, served := range candidate.Entrypoints() {
			if served.Equal(entrypoint) {
				return candidate
			}
		}
	}
	return nil
}

func evaluate(
	ctx context.Context,
	module *wasm.Resolver,
	entrypoint ast.Ref,
	input ast.Value,
	m metrics.Metrics,
) (any, error) {
	result, err := module.Eval(ctx, resolver.Input{Ref: entrypoint, Input: ast.NewTerm(input), Metrics: m})
	if err != nil {
		return nil, fmt.Errorf("evaluate %s in WebAssembly: %w", entrypoint, err)
	}
	if result.Value == nil {
		return nil, fmt.Errorf("%s is undefined for this input", entrypoint)
	}
	decision, err := ast.JSON(result.Value)
	if err != nil {
		return nil, fmt.Errorf("convert the result of %s: %w", entrypoint, err)
	}
	return decision, nil
}

// agentDenial is the response when the policy did not decide. The sidecar returns the
// HTTP status it carries, so the request is denied (fail closed) and never allowed.
func agentDenial(grpcCode code.Code, status typev3.StatusCode, reason string, err error) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode), Message: err.Error()},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{
			DeniedResponse: &authv3.DeniedHttpResponse{
				Status: &typev3.HttpStatus{Code: status},
				Headers: headerList(map[string]string{
					"content-type":   "application/json",
					"x-authz-reason": reason,
				}),
				Body: fmt.Sprintf(`{"error":%q,"reason":%q}`, errorName(status), reason),
			},
		},
	}
}

func errorName(status typev3.StatusCode) string {
	if status == typev3.StatusCode_BadRequest {
		return "bad_request"
	}
	return "forbidden"
}

// withDecisionID adds the decision id to the dynamic metadata, as opa-envoy-plugin does,
// so that Envoy's access log can name the decision log entry of a request.
func withDecisionID(metadata *structpb.Struct, id string) *structpb.Struct {
	if metadata == nil {
		metadata = &structpb.Struct{}
	}
	if metadata.Fields == nil {
		metadata.Fields = map[string]*structpb.Value{}
	}
	metadata.Fields["decision_id"] = structpb.NewStringValue(id)
	return metadata
}

func bundleRevisions(ctx context.Context, store storage.Store, txn storage.Transaction) map[string]server.BundleInfo {
	names, err := bundle.ReadBundleNamesFromStore(ctx, store, txn)
	if err != nil {
		return nil
	}
	revisions := make(map[string]server.BundleInfo, len(names))
	for _, name := range names {
		revision, err := bundle.ReadBundleRevisionFromStore(ctx, store, txn, name)
		if err != nil && !storage.IsNotFound(err) {
			continue
		}
		revisions[name] = server.BundleInfo{Revision: revision}
	}
	return revisions
}

// logAgentDenial logs a request that the agent denied because the policy did not decide.
// A failing policy is an error. A missing bundle (normal until the first download) and a
// request that cannot be represented are debug messages, because they repeat for every
// such request and the decision duration histogram already counts them by outcome.
func (a *authorizer) logAgentDenial(outcome string, current *decision) {
	if current.err == nil {
		return
	}
	logger := a.manager.Logger().WithFields(map[string]any{
		"decision_id": current.id,
		"outcome":     outcome,
	})
	if outcome == reasonPolicyError {
		logger.Error("Denied the request because the policy failed: %v.", current.err)
		return
	}
	logger.Debug("Denied the request: %v.", current.err)
}

// logDecision hands the decision to OPA's decision log plugin, when one is configured.
// It logs even when the caller gave up meanwhile, because the plugin drops an entry whose
// mask policy evaluation the cancelled context would abort.
func (a *authorizer) logDecision(ctx context.Context, txn storage.Transaction, cfg *Config, current *decision) {
	plugin := logs.Lookup(a.manager)
	if plugin == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	info := &server.Info{
		Txn:        txn,
		Bundles:    current.revisions,
		DecisionID: current.id,
		Path:       cfg.Path,
		Timestamp:  time.Now(),
		Error:      current.err,
		Metrics:    current.metrics,
		Custom:     map[string]any{"evaluator": evaluator},
	}
	if current.input != nil {
		var input any = current.input
		info.Input = &input
		info.InputAST = current.inputValue
	}
	if current.result != nil {
		result := current.result
		info.Results = &result
	}
	if err := plugin.Log(ctx, info); err != nil {
		a.manager.Logger().WithFields(map[string]any{"decision_id": current.id}).
			Error("Logging the decision failed: %v.", err)
	}
}

func headerList(headers map[string]string) []*corev3.HeaderValueOption {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	options := make([]*corev3.HeaderValueOption, len(names))
	for i, name := range names {
		options[i] = &corev3.HeaderValueOption{
			Header: &corev3.HeaderValue{Key: name, Value: headers[name]},
		}
	}
	return options
}
