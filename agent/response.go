package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// buildResponse maps a decision to Envoy's CheckResponse the way opa-envoy-plugin does.
//
// A decision is a boolean, or an object with "allowed" and optionally "headers",
// "response_headers_to_add", "request_headers_to_remove", "query_parameters_to_set",
// "query_parameters_to_remove", "dynamic_metadata", "http_status" and "body". An allowed
// object sends "headers" to the upstream service and "response_headers_to_add" to the
// client. A denied object makes Envoy return http_status (403 unless set), "headers" and
// "body" to the client. Any other shape is an error, and the caller denies the request.
func buildResponse(decision any) (*authv3.CheckResponse, error) {
	switch decision := decision.(type) {
	case bool:
		return &authv3.CheckResponse{Status: grpcStatus(decision)}, nil
	case map[string]any:
		return buildObjectResponse(decision)
	case nil:
		return nil, fmt.Errorf("the decision is undefined")
	default:
		return nil, fmt.Errorf("invalid decision of type %s; expected a boolean or an object",
			jsonType(decision))
	}
}

func buildObjectResponse(decision map[string]any) (*authv3.CheckResponse, error) {
	rawAllowed, ok := decision["allowed"]
	if !ok {
		return nil, fmt.Errorf("the decision object has no \"allowed\" key")
	}
	allowed, ok := rawAllowed.(bool)
	if !ok {
		return nil, fmt.Errorf("invalid \"allowed\" of type %s; expected a boolean",
			jsonType(rawAllowed))
	}

	headers, err := headerOptions(decision, "headers")
	if err != nil {
		return nil, err
	}
	metadata, err := dynamicMetadata(decision)
	if err != nil {
		return nil, err
	}
	response := &authv3.CheckResponse{Status: grpcStatus(allowed), DynamicMetadata: metadata}

	if allowed {
		ok := &authv3.OkHttpResponse{Headers: headers}
		if ok.ResponseHeadersToAdd, err = headerOptions(decision, "response_headers_to_add"); err != nil {
			return nil, err
		}
		if ok.HeadersToRemove, err = stringList(decision, "request_headers_to_remove"); err != nil {
			return nil, err
		}
		if ok.QueryParametersToRemove, err = stringList(decision, "query_parameters_to_remove"); err != nil {
			return nil, err
		}
		if ok.QueryParametersToSet, err = queryParameters(decision); err != nil {
			return nil, err
		}
		response.HttpResponse = &authv3.CheckResponse_OkResponse{OkResponse: ok}
		return response, nil
	}

	status, err := httpStatus(decision)
	if err != nil {
		return nil, err
	}
	body, err := optionalString(decision, "body")
	if err != nil {
		return nil, err
	}
	response.HttpResponse = &authv3.CheckResponse_DeniedResponse{
		DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: headers,
			Body:    body,
		},
	}
	return response, nil
}

func grpcStatus(allowed bool) *rpcstatus.Status {
	if allowed {
		return &rpcstatus.Status{Code: int32(code.Code_OK)}
	}
	return &rpcstatus.Status{Code: int32(code.Code_PERMISSION_DENIED)}
}

// headerOptions reads an object of header name -> string or list of strings, or a list
// of such objects. Names are sorted, so the same decision gives the same response.
func headerOptions(decision map[string]any, key string) ([]*corev3.HeaderValueOption, error) {
	raw, ok := decision[key]
	if !ok {
		return nil, nil
	}
	var objects []map[string]any
	switch value := raw.(type) {
	case map[string]any:
		objects = []map[string]any{value}
	case []any:
		for _, item := range value {
			object, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("invalid %q item of type %s; expected an object",
					key, jsonType(item))
			}
			objects = append(objects, object)
		}
	default:
		return nil, fmt.Errorf("invalid %q of type %s; expected an object of header values",
			key, jsonType(raw))
	}

	var options []*corev3.HeaderValueOption
	for _, object := range objects {
		for _, name := range sortedKeys(object) {
			values, err := headerValues(key, name, object[name])
			if err != nil {
				return nil, err
			}
			for _, value := range values {
				options = append(options, &corev3.HeaderValueOption{
					Header: &corev3.HeaderValue{Key: name, Value: value},
				})
			}
		}
	}
	return options, nil
}

func headerValues(key, name string, raw any) ([]string, error) {
	switch value := raw.(type) {
	case string:
		return []string{value}, nil
	case []any:
		values := make([]string, len(value))
		for i, item := range value {
			text, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("invalid value of type %s for header %q in %q; "+
					"expected a string", jsonType(item), name, key)
			}
			values[i] = text
		}
		return values, nil
	default:
		return nil, fmt.Errorf("invalid value of type %s for header %q in %q; "+
			"expected a string or a list of strings", jsonType(raw), name, key)
	}
}

func stringList(decision map[string]any, key string) ([]string, error) {
	raw, ok := decision[key]
	if !ok {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("invalid %q of type %s; expected a list of strings",
			key, jsonType(raw))
	}
	values := make([]string, len(items))
	for i, item := range items {
		text, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("invalid %q item of type %s; expected a string",
				key, jsonType(item))
		}
		values[i] = text
	}
	return values, nil
}

func queryParameters(decision map[string]any) ([]*corev3.QueryParameter, error) {
	const key = "query_parameters_to_set"
	raw, ok := decision[key]
	if !ok {
		return nil, nil
	}
	object, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid %q of type %s; expected an object", key, jsonType(raw))
	}
	var parameters []*corev3.QueryParameter
	for _, name := range sortedKeys(object) {
		values, err := headerValues(key, name, object[name])
		if err != nil {
			return nil, err
		}
		for _, value := range values {
			parameters = append(parameters, &corev3.QueryParameter{Key: name, Value: value})
		}
	}
	return parameters, nil
}

func dynamicMetadata(decision map[string]any) (*structpb.Struct, error) {
	raw, ok := decision["dynamic_metadata"]
	if !ok {
		return nil, nil
	}
	object, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid \"dynamic_metadata\" of type %s; expected an object",
			jsonType(raw))
	}
	metadata, err := structpb.NewStruct(plainJSON(object).(map[string]any))
	if err != nil {
		return nil, fmt.Errorf("invalid \"dynamic_metadata\": %w", err)
	}
	return metadata, nil
}

// httpStatus returns the decision's http_status, 403 when it has none. Envoy accepts only
// the codes its StatusCode enum names.
func httpStatus(decision map[string]any) (int32, error) {
	raw, ok := decision["http_status"]
	if !ok {
		return http.StatusForbidden, nil
	}
	number, ok := raw.(json.Number)
	if !ok {
		return 0, fmt.Errorf("invalid \"http_status\" of type %s; expected a number",
			jsonType(raw))
	}
	status, err := number.Int64()
	if err != nil || status < 100 || status > 599 {
		return 0, fmt.Errorf("invalid \"http_status\" %s; expected an HTTP status code", number)
	}
	if _, known := typev3.StatusCode_name[int32(status)]; !known {
		return 0, fmt.Errorf("invalid \"http_status\" %d; expected a status code that "+
			"Envoy's StatusCode names", status)
	}
	return int32(status), nil
}

func optionalString(decision map[string]any, key string) (string, error) {
	raw, ok := decision[key]
	if !ok {
		return "", nil
	}
	text, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("invalid %q of type %s; expected a string", key, jsonType(raw))
	}
	return text, nil
}

// plainJSON turns json.Number into float64, which structpb accepts, throughout a value.
func plainJSON(value any) any {
	switch value := value.(type) {
	case json.Number:
		number, _ := value.Float64()
		return number
	case map[string]any:
		converted := make(map[string]any, len(value))
		for key, item := range value {
			converted[key] = plainJSON(item)
		}
		return converted
	case []any:
		converted := make([]any, len(value))
		for i, item := range value {
			converted[i] = plainJSON(item)
		}
		return converted
	default:
		return value
	}
}

func sortedKeys(object map[string]any) []string {
	keys := make([]string, 0, len(object))
	for key := range object {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

func jsonType(value any) string {
	switch value.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64, int, int64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", value)
	}
}
