package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/zclconf/go-cty/cty"
)

// dockerHubConfigKey is the key docker stores Docker Hub credentials under.
const dockerHubConfigKey = "https://index.docker.io/v1/"

// configFile loads the docker CLI configuration (config.json) the way the
// docker CLI does: auths, credsStore and credHelpers. A missing file is an
// empty configuration.
func (p *Provider) configFile() (*configfile.ConfigFile, error) {
	// Not config.Dir(): it reads DOCKER_CONFIG once per process.
	dir := os.Getenv("DOCKER_CONFIG")
	switch {
	case p.dockerConfig != "":
		dir = filepath.Dir(p.dockerConfig)
	case dir == "":
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("finding the docker configuration: %w (set DOCKER_CONFIG)", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the docker configuration in %s: %w (fix or move the file)", dir, err)
	}
	return cf, nil
}

// credentials returns the user and password for t: the registry block's,
// else what the docker CLI configuration holds for t's address (a
// credential helper named by credHelpers or credsStore, or auths).
func (p *Provider) credentials(t registryTarget) (user, pass string) {
	if t.Username != "" || t.password != "" {
		return t.Username, t.password
	}
	ac, err := p.configAuth(t.Address)
	if err != nil {
		p.log.Warn("registry credentials unavailable", "registry", t.Address, "err", err)
		return "", ""
	}
	if ac.IdentityToken != "" && ac.Password == "" {
		return ac.Username, ac.IdentityToken
	}
	return ac.Username, ac.Password
}

// configAuth looks addr up in the docker CLI configuration.
func (p *Provider) configAuth(addr string) (types.AuthConfig, error) {
	cf, err := p.configFile()
	if err != nil {
		return types.AuthConfig{}, err
	}
	key := addr
	if addr == "" || addr == dockerHubDomain || addr == "index.docker.io" || addr == "registry-1.docker.io" {
		key = dockerHubConfigKey
	}
	ac, err := cf.GetAuthConfig(key)
	if err != nil {
		return types.AuthConfig{}, fmt.Errorf("docker credentials for %s: %w", addr, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && key == addr {
		// Entries written by hand often carry a scheme.
		for _, k := range []string{"https://" + addr, "http://" + addr} {
			if a, ok := cf.AuthConfigs[k]; ok {
				return a, nil
			}
		}
	}
	return ac, nil
}

// registryBlocks are the pipeline's registry blocks, by address.
func registryBlocks(blocks map[string]cty.Value) map[string]registryTarget {
	out := map[string]registryTarget{}
	for _, b := range blocks {
		b, _ = b.UnmarkDeep() // passwords from sensitive variables
		t := registryFromInput(b)
		if t.Address == "" {
			continue
		}
		out[normalizeRegistryHost(t.Address)] = t
	}
	return out
}

// withPipelineCredentials gives t the credentials of the pipeline's registry
// block for its address when t has none of its own (a registry given as an
// address string, or the image's own registry).
func withPipelineCredentials(t registryTarget, blocks map[string]cty.Value) registryTarget {
	if t.Username != "" || t.password != "" {
		return t
	}
	if b, ok := registryBlocks(blocks)[normalizeRegistryHost(t.Address)]; ok {
		t.Username, t.password = b.Username, b.password
	}
	return t
}

// normalizeRegistryHost strips a scheme and path from a registry address and
// maps Docker Hub's aliases to docker.io.
func normalizeRegistryHost(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	addr, _, _ = strings.Cut(addr, "/")
	switch addr {
	case "index.docker.io", "registry-1.docker.io", "":
		return dockerHubDomain
	}
	return addr
}

// authProvider answers BuildKit's credential requests (FROM images,
// cache_from and cache_to) from the pipeline's registry blocks, else from
// the docker CLI configuration and its credential helpers.
func (p *Provider) authProvider(blocks map[string]cty.Value) (session.Attachable, error) {
	cf, err := p.configFile()
	if err != nil {
		return nil, err
	}
	byHost := registryBlocks(blocks)
	fromConfig := authprovider.LoadAuthConfig(cf)
	return authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: func(ctx context.Context, host string, scopes []string, check authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
			if t, ok := byHost[normalizeRegistryHost(host)]; ok && (t.Username != "" || t.password != "") {
				return types.AuthConfig{Username: t.Username, Password: t.password, ServerAddress: host}, nil
			}
			return fromConfig(ctx, host, scopes, check)
		},
	}), nil
}
