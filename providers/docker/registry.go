package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/zclconf/go-cty/cty"
)

// dockerHubDomain is the domain of unqualified image names.
const dockerHubDomain = "docker.io"

// registryTarget is a registry address with the credentials to use there.
type registryTarget struct {
	Address  string
	Username string
	password string // never logged, output or stored
}

// registryFromInput reads a step's registry input: null, an address string,
// or a registry block object {name, address, username, password}.
func registryFromInput(v cty.Value) registryTarget {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return registryTarget{}
	}
	if v.Type() == cty.String {
		return registryTarget{Address: v.AsString()}
	}
	return registryTarget{
		Address:  attrString(v, "address"),
		Username: attrString(v, "username"),
		password: attrString(v, "password"),
	}
}

// encodedAuth is the X-Registry-Auth header value for t; without
// credentials it encodes an empty config, which older engines require.
func (p *Provider) encodedAuth(t registryTarget) (string, error) {
	user, pass := p.credentials(t)
	if user == "" && pass == "" {
		return authconfig.Encode(registry.AuthConfig{})
	}
	return authconfig.Encode(registry.AuthConfig{Username: user, Password: pass, ServerAddress: t.Address})
}

// splitRef parses an image reference into registry domain, repository path
// and tag (or digest).
func splitRef(ref string) (domain, repo, tag, dgst string, err error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", "", "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	domain, repo = reference.Domain(named), reference.Path(named)
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		dgst = d.Digest().String()
	}
	return domain, repo, tag, dgst, nil
}

// familiarRepo is the repository path as a user writes it: without the
// registry host and without Docker Hub's implicit "library/".
func familiarRepo(domain, repo string) string {
	if domain == dockerHubDomain {
		return strings.TrimPrefix(repo, "library/")
	}
	return repo
}

// errManifestNotFound means the registry does not have the manifest.
var errManifestNotFound = errors.New("manifest not found")

// manifestAccept lists the manifest media types a HEAD request accepts.
var manifestAccept = strings.Join([]string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}, ", ")

// manifestDigest asks the registry (HTTP API v2, HEAD) for the digest of
// repo:reference, following a Bearer token challenge when there is one.
// Loopback registries are spoken to over plain HTTP, as docker does.
func (p *Provider) manifestDigest(ctx context.Context, t registryTarget, repo, ref string) (string, error) {
	host := t.Address
	if host == dockerHubDomain || host == "" {
		host = "registry-1.docker.io"
	}
	u := url.URL{Scheme: schemeFor(host), Host: host, Path: "/v2/" + repo + "/manifests/" + ref}
	user, pass := p.credentials(t)
	resp, err := p.headManifest(ctx, u.String(), func(r *http.Request) {
		if user != "" || pass != "" {
			r.SetBasicAuth(user, pass)
		}
	})
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		token, err := p.bearerToken(ctx, resp.Header.Get("Www-Authenticate"), user, pass)
		if err != nil {
			return "", fmt.Errorf("registry %s: %w", t.Address, err)
		}
		if token != "" {
			resp, err = p.headManifest(ctx, u.String(), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
			if err != nil {
				return "", err
			}
		}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("Docker-Content-Digest"), nil
	case http.StatusNotFound:
		return "", errManifestNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", fmt.Errorf("registry %s refused access to %s (HTTP %d): check the registry block's username and password", t.Address, repo, resp.StatusCode)
	default:
		return "", fmt.Errorf("registry %s answered HTTP %d for %s:%s", t.Address, resp.StatusCode, repo, ref)
	}
}

func (p *Provider) headManifest(ctx context.Context, u string, auth func(*http.Request)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	auth(req)
	resp, err := p.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the registry for %s: %w", u, err)
	}
	resp.Body.Close()
	return resp, nil
}

// bearerToken answers a "Bearer realm=...,service=...,scope=..." challenge;
// it returns "" for other challenges.
func (p *Provider) bearerToken(ctx context.Context, challenge, user, pass string) (string, error) {
	scheme, params, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	attrs := map[string]string{}
	for _, part := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		attrs[strings.ToLower(k)] = strings.Trim(v, `"`)
	}
	u, err := url.Parse(attrs["realm"])
	if err != nil || attrs["realm"] == "" {
		return "", fmt.Errorf("bad token challenge %q", challenge)
	}
	q := u.Query()
	for _, k := range []string{"service", "scope"} {
		if attrs[k] != "" {
			q.Set(k, attrs[k])
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := p.httpClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("getting a registry token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("getting a registry token: HTTP %d", resp.StatusCode)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("getting a registry token: %w", err)
	}
	if tok.Token != "" {
		return tok.Token, nil
	}
	return tok.AccessToken, nil
}

// schemeFor is "http" for loopback hosts (docker's default insecure
// registries) and "https" otherwise.
func schemeFor(host string) string {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return "http"
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}
