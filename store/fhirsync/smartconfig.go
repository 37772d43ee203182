package fhirsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DiscoverTokenURL reads the token endpoint a FHIR server names in its
// SMART configuration (base + "/.well-known/smart-configuration"), as SMART
// Backend Services has clients find it, when an operator adds a source
// without --token-url. A server that says it takes no private_key_jwt
// client assertion, or no client_credentials grant, is refused: every token
// request would be. The answer is not followed through redirects, and is
// read to 64 KiB at most.
func DiscoverTokenURL(ctx context.Context, baseURL string) (string, error) {
	where := strings.TrimSuffix(baseURL, "/") + "/.well-known/smart-configuration"
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s could not be read: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%s could not be read: %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s: give the token endpoint with --token-url", where, resp.Status)
	}
	var cfg struct {
		TokenEndpoint string   `json:"token_endpoint"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		Grants        []string `json:"grant_types_supported"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		return "", fmt.Errorf("%s is not the JSON SMART describes: %s", where, clip(err.Error()))
	}
	tu, err := url.Parse(cfg.TokenEndpoint)
	switch {
	case cfg.TokenEndpoint == "":
		return "", fmt.Errorf("%s names no token_endpoint: give it with --token-url", where)
	case err != nil || !tu.IsAbs() || tu.Host == "":
		return "", fmt.Errorf("%s gives a token_endpoint that is not an absolute address: %q", where, clip(cfg.TokenEndpoint))
	case cfg.AuthMethods != nil && !slices.Contains(cfg.AuthMethods, "private_key_jwt"):
		return "", errors.New(where + " says its token endpoint takes no private_key_jwt client assertion, which SMART Backend Services signs in with")
	case cfg.Grants != nil && !slices.Contains(cfg.Grants, "client_credentials"):
		return "", errors.New(where + " says its token endpoint gives no client_credentials grant, which SMART Backend Services asks for")
	}
	return cfg.TokenEndpoint, nil
}
