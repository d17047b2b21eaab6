package main

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"sort"
	"strconv"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/util"
	"google.golang.org/protobuf/encoding/protojson"
)

// The input document follows opa-envoy-plugin (v1.14.0-envoy, envoyauth/request.go), so
// that policies written for that plugin carry over:
//
//	attributes      the CheckRequest's attributes, encoded with protojson (JSON field names)
//	version         {"ext_authz": "v3", "encoding": "protojson"}
//	parsed_path     path segments, percent-decoded, without the query
//	parsed_query    query parameter -> list of values
//	parsed_body     the body as JSON, form values or multipart values, else null
//	truncated_body  true when content-length shows that Envoy sent only part of the body
//	source_principal  the peer's certificate principal, when Envoy sends one
//
// Header names are lower-case in attributes.request.http.headers. Envoy sends them so
// already over HTTP/2; the agent lower-cases them anyway, so that a header sent by any
// other client is found by the name a policy uses.
//
// NOTE: gRPC request bodies (application/grpc) are not decoded, because the agent loads
// no protobuf descriptor set; parsed_body is null for them.

var errBodyTruncated = errors.New("body truncated")

// buildInput converts a CheckRequest into the policy's input document. An error means
// the request cannot be represented (for example an invalid percent-encoding in the
// path); the caller denies such a request.
func buildInput(req *authv3.CheckRequest) (map[string]any, error) {
	encoded, err := protojson.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the check request: %w", err)
	}
	var input map[string]any
	if err := util.UnmarshalJSON(encoded, &input); err != nil {
		return nil, fmt.Errorf("decode the check request: %w", err)
	}
	if input == nil {
		input = map[string]any{}
	}

	http := req.GetAttributes().GetRequest().GetHttp()
	headers := lowerCaseHeaders(http.GetHeaders())
	if httpInput, ok := nestedObject(input, "attributes", "request", "http"); ok {
		if _, present := httpInput["headers"]; present {
			httpInput["headers"] = stringMapToAny(headers)
		}
	}

	input["version"] = map[string]any{"ext_authz": "v3", "encoding": "protojson"}

	parsedPath, parsedQuery, err := parsePathAndQuery(http.GetPath())
	if err != nil {
		return nil, err
	}
	input["parsed_path"] = parsedPath
	input["parsed_query"] = parsedQuery

	body := http.GetBody()
	if body == "" {
		body = string(http.GetRawBody())
	}
	parsedBody, err := parseBody(headers, body)
	switch {
	case errors.Is(err, errBodyTruncated):
		input["parsed_body"] = nil
		input["truncated_body"] = true
	case err != nil:
		return nil, err
	default:
		input["parsed_body"] = parsedBody
		input["truncated_body"] = false
	}

	if principal := req.GetAttributes().GetSource().GetPrincipal(); principal != "" {
		input["source_principal"] = principal
	}
	return input, nil
}

// lowerCaseHeaders returns the headers with lower-case names. Two names that differ only
// in case become one header whose values are joined with ",", as HTTP allows for
// repeated fields (RFC 9110, section 5.3), in the order of the original names.
func lowerCaseHeaders(headers map[string]string) map[string]string {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	lowered := make(map[string]string, len(headers))
	for _, name := range names {
		key := strings.ToLower(name)
		if previous, ok := lowered[key]; ok {
			lowered[key] = previous + "," + headers[name]
		} else {
			lowered[key] = headers[name]
		}
	}
	return lowered
}

// parsePathAndQuery splits Envoy's :path into percent-decoded segments and query
// parameters. "/" gives [""], and "/a/b/" gives ["a", "b", ""], as in opa-envoy-plugin.
func parsePathAndQuery(path string) ([]any, map[string]any, error) {
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	decoded, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid request path %q: %w", path, err)
	}
	segments := strings.Split(strings.TrimLeft(decoded, "/"), "/")
	parsedPath := make([]any, len(segments))
	for i, segment := range segments {
		parsedPath[i] = segment
	}

	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid query string in %q: %w", path, err)
	}
	parsedQuery := make(map[string]any, len(query))
	for name, values := range query {
		parsedQuery[name] = stringsToAny(values)
	}
	return parsedPath, parsedQuery, nil
}

// parseBody decodes a JSON, form or multipart body by its content-type, and returns nil
// for any other type or an empty body. It returns errBodyTruncated when content-length
// is larger than the body Envoy sent (with_request_body caps what Envoy buffers).
func parseBody(headers map[string]string, body string) (any, error) {
	contentType, ok := headers["content-type"]
	if !ok || body == "" {
		return nil, nil
	}
	isJSON := strings.Contains(contentType, "application/json")
	isForm := strings.Contains(contentType, "application/x-www-form-urlencoded")
	isMultipart := strings.Contains(contentType, "multipart/form-data")
	if !isJSON && !isForm && !isMultipart {
		return nil, nil
	}

	if length, ok := headers["content-length"]; ok {
		declared, err := strconv.ParseInt(length, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid content-length %q: %w", length, err)
		}
		if declared != -1 && declared > int64(len(body)) {
			return nil, errBodyTruncated
		}
	}

	switch {
	case isJSON:
		var data any
		if err := util.UnmarshalJSON([]byte(body), &data); err != nil {
			return nil, fmt.Errorf("invalid JSON body: %w", err)
		}
		return data, nil
	case isForm:
		values, err := url.ParseQuery(body)
		if err != nil {
			return nil, fmt.Errorf("invalid form body: %w", err)
		}
		form := make(map[string]any, len(values))
		for name, list := range values {
			form[name] = stringsToAny(list)
		}
		return form, nil
	default:
		return parseMultipart(contentType, body)
	}
}

func parseMultipart(contentType, body string) (any, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("invalid content-type %q: %w", contentType, err)
	}
	boundary, ok := params["boundary"]
	if !ok {
		return nil, nil
	}
	values := map[string]any{}
	reader := multipart.NewReader(strings.NewReader(body), boundary)
	for {
		part, err := reader.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid multipart body: %w", err)
		}
		name := part.FormName()
		if name == "" {
			continue
		}
		content, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("invalid multipart body: %w", err)
		}
		var value any = string(content)
		if strings.Contains(part.Header.Get("Content-Type"), "application/json") {
			if err := util.UnmarshalJSON(content, &value); err != nil {
				return nil, fmt.Errorf("invalid JSON in multipart field %q: %w", name, err)
			}
		}
		list, _ := values[name].([]any)
		values[name] = append(list, value)
	}
	return values, nil
}

func nestedObject(document map[string]any, keys ...string) (map[string]any, bool) {
	current := document
	for _, key := range keys {
		next, ok := current[key].(map[string]any)
		if !ok {
			return nil, false
		}
		current = next
	}
	return current, true
}

func stringMapToAny(values map[string]string) map[string]any {
	converted := make(map[string]any, len(values))
	for key, value := range values {
		converted[key] = value
	}
	return converted
}

func stringsToAny(values []string) []any {
	converted := make([]any, len(values))
	for i, value := range values {
		converted[i] = value
	}
	return converted
}
