package docker

import (
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/zclconf/go-cty/cty"
)

// Builders a docker_build step can ask for.
const (
	builderBuildKit = "buildkit"
	builderLegacy   = "legacy"
)

// builderOf is the builder a step asks for (default BuildKit).
func builderOf(inputs cty.Value) string {
	if b := attrString(inputs, "builder"); b != "" {
		return b
	}
	return builderBuildKit
}

// validateBuild checks the docker_build inputs that only the provider
// understands; the message says how to fix the input.
func validateBuild(inputs cty.Value) error {
	switch b := builderOf(inputs); b {
	case builderBuildKit, builderLegacy:
	default:
		return fmt.Errorf("builder %q is not one of \"buildkit\" and \"legacy\"", b)
	}
	switch n := attrString(inputs, "network"); n {
	case "", "default", "none", "host":
	default:
		return fmt.Errorf("network %q is not supported by docker_build: use \"default\", \"none\" or \"host\"", n)
	}
	for _, attr := range []string{"cache_from", "cache_to"} {
		for _, s := range attrList(inputs, attr) {
			if _, err := parseCacheEntry(s); err != nil {
				return fmt.Errorf("%s: %w", attr, err)
			}
		}
	}
	for _, s := range attrList(inputs, "ssh") {
		if _, err := parseSSHSpec(s); err != nil {
			return fmt.Errorf("ssh: %w", err)
		}
	}
	if builderOf(inputs) == builderLegacy {
		for _, a := range []string{"secrets", "ssh", "cache_to", "build_contexts", "platforms"} {
			if v := attr(inputs, a); !v.IsNull() && v.IsKnown() && v.LengthInt() > 0 {
				return fmt.Errorf("%s needs BuildKit: remove builder = \"legacy\" or the %s argument", a, a)
			}
		}
	}
	return nil
}

// parseCacheEntry reads a cache_from/cache_to entry: an image reference
// (registry cache), "inline", or buildx's CSV form ("type=registry,ref=...").
func parseCacheEntry(s string) (bkclient.CacheOptionsEntry, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return bkclient.CacheOptionsEntry{}, fmt.Errorf("empty cache entry: write an image reference, \"type=inline\" or \"type=registry,ref=IMAGE\"")
	case s == "inline":
		return bkclient.CacheOptionsEntry{Type: "inline", Attrs: map[string]string{}}, nil
	case !strings.Contains(s, "="):
		return bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": s}}, nil
	}
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return bkclient.CacheOptionsEntry{}, fmt.Errorf("cache entry %q: %w", s, err)
	}
	e := bkclient.CacheOptionsEntry{Attrs: map[string]string{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return bkclient.CacheOptionsEntry{}, fmt.Errorf("cache entry %q: %q is not key=value", s, f)
		}
		if k == "type" {
			e.Type = v
			continue
		}
		e.Attrs[k] = v
	}
	if e.Type == "" {
		e.Type = "registry"
	}
	if e.Type == "registry" && e.Attrs["ref"] == "" {
		return bkclient.CacheOptionsEntry{}, fmt.Errorf("cache entry %q: a registry cache needs ref=IMAGE", s)
	}
	return e, nil
}

// cacheEntries parses the entries of attr (validated before).
func cacheEntries(inputs cty.Value, attr string) []bkclient.CacheOptionsEntry {
	var out []bkclient.CacheOptionsEntry
	for _, s := range attrList(inputs, attr) {
		if e, err := parseCacheEntry(s); err == nil {
			out = append(out, e)
		}
	}
	return out
}

// parseSSHSpec reads an ssh entry: "default" (the agent at $SSH_AUTH_SOCK),
// or "ID=PATH[,PATH...]" with agent sockets or key files.
func parseSSHSpec(s string) (sshprovider.AgentConfig, error) {
	id, paths, ok := strings.Cut(strings.TrimSpace(s), "=")
	if id == "" {
		return sshprovider.AgentConfig{}, fmt.Errorf("empty entry: write \"default\" or \"ID=PATH\"")
	}
	c := sshprovider.AgentConfig{ID: id}
	if ok {
		for _, p := range strings.Split(paths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Paths = append(c.Paths, p)
			}
		}
	}
	return c, nil
}

// sessionAttachables are the session services a build offers BuildKit:
// registry credentials, secrets and SSH agents.
func (p *Provider) sessionAttachables(inputs cty.Value, registries map[string]cty.Value) ([]session.Attachable, error) {
	auth, err := p.authProvider(registries)
	if err != nil {
		return nil, err
	}
	out := []session.Attachable{auth}
	if m := attrMap(inputs, "secrets"); len(m) > 0 {
		store := make(map[string][]byte, len(m))
		for k, v := range m {
			store[k] = []byte(v)
		}
		out = append(out, secretsprovider.FromMap(store))
	}
	var agents []sshprovider.AgentConfig
	for _, s := range attrList(inputs, "ssh") {
		c, _ := parseSSHSpec(s)
		agents = append(agents, c)
	}
	if len(agents) > 0 {
		a, err := sshprovider.NewSSHAgentProvider(agents)
		if err != nil {
			return nil, fmt.Errorf("ssh forwarding: %w (start an ssh-agent and set SSH_AUTH_SOCK, or give ID=PATH)", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// namedContexts resolves build_contexts: a directory (relative to the
// pipeline directory) is synced like the main context; docker-image://,
// target: and URLs are passed to the frontend as they are.
func namedContexts(pipelineDir string, inputs cty.Value) (local map[string]string, attrs map[string]string, err error) {
	m := attrMap(inputs, "build_contexts")
	local, attrs = map[string]string{}, map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		if isRemoteContext(v) {
			attrs["context:"+name] = v
			continue
		}
		dir := v
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(pipelineDir, dir)
		}
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return nil, nil, fmt.Errorf("build_contexts[%q]: %s is not a directory (give a directory, docker-image://IMAGE, target:STAGE or a URL)", name, dir)
		}
		local[name] = dir
		attrs["context:"+name] = "local:" + localContextName(name)
	}
	return local, attrs, nil
}

// localContextName is the local mount name of a named context; "context"
// and "dockerfile" are taken by the main ones.
func localContextName(name string) string { return "named-" + name }

func isRemoteContext(v string) bool {
	for _, p := range []string{"docker-image://", "target:", "oci-layout://", "https://", "http://", "git@", "git://"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}
