package docker

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	bkclient "github.com/moby/buildkit/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/config"
)

func TestParseCacheEntry(t *testing.T) {
	tests := []struct {
		in      string
		want    bkclient.CacheOptionsEntry
		wantErr string
	}{
		{in: "127.0.0.1:5000/app:1", want: bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:5000/app:1"}}},
		{in: "inline", want: bkclient.CacheOptionsEntry{Type: "inline", Attrs: map[string]string{}}},
		{in: "type=inline", want: bkclient.CacheOptionsEntry{Type: "inline", Attrs: map[string]string{}}},
		{in: "type=registry,ref=r/app:cache,mode=max", want: bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "r/app:cache", "mode": "max"}}},
		{in: "ref=r/app:cache", want: bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "r/app:cache"}}},
		{in: "", wantErr: "empty cache entry"},
		{in: "type=registry", wantErr: "needs ref=IMAGE"},
		{in: "type=registry,oops", wantErr: `"oops" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseCacheEntry(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseCacheEntry(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseCacheEntry(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestValidateBuild(t *testing.T) {
	tests := []struct {
		name    string
		vals    map[string]cty.Value
		wantErr string
	}{
		{"defaults", nil, ""},
		{"unknown builder", map[string]cty.Value{"builder": cty.StringVal("kaniko")}, `builder "kaniko" is not one of`},
		{"bridge network", map[string]cty.Value{"network": cty.StringVal("bridge")}, `use "default", "none" or "host"`},
		{"bad cache", map[string]cty.Value{"cache_from": strs("type=registry")}, "cache_from: "},
		{"secrets on legacy", map[string]cty.Value{"builder": cty.StringVal("legacy"), "secrets": cty.MapVal(map[string]cty.Value{"a": cty.StringVal("b")})}, "secrets needs BuildKit"},
		{"legacy plain", map[string]cty.Value{"builder": cty.StringVal("legacy"), "build_args": cty.MapVal(map[string]cty.Value{"A": cty.StringVal("1")})}, ""},
		{"ssh entry", map[string]cty.Value{"ssh": strs("default", "git=/tmp/agent.sock")}, ""},
		{"empty ssh entry", map[string]cty.Value{"ssh": strs("=x")}, "ssh: empty entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := map[string]cty.Value{"image": cty.StringVal("app")}
			for k, v := range tt.vals {
				vals[k] = v
			}
			err := validateBuild(inputs("docker_build", vals))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("validateBuild: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("validateBuild error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestInstructionLineAndRootMessage(t *testing.T) {
	dir := t.TempDir()
	df := dir + "/Dockerfile"
	if err := os.WriteFile(df, []byte("FROM scratch AS build\n# comment\nRUN   echo  a \\\n  && exit 3\nCOPY x /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for vertex, want := range map[string]int{
		"[build 2/3] RUN echo a   && exit 3": 3,
		"[3/3] COPY x /x":                    5,
		"[internal] load metadata":           0,
		"exporting to image":                 0,
	} {
		if got := instructionLine(df, vertex); got != want {
			t.Errorf("instructionLine(%q) = %d, want %d", vertex, got, want)
		}
	}
	if got := rootMessage(errString("rpc error: code = Unknown desc = failed to solve: exit code: 3")); got != "exit code: 3" {
		t.Errorf("rootMessage = %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestWithPipelineCredentials(t *testing.T) {
	block := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("auth"), "address": cty.StringVal("https://127.0.0.1:5001/"),
		"username": cty.StringVal("ci"), "password": cty.StringVal("pw").Mark(config.Sensitive),
	})
	blocks := map[string]cty.Value{"auth": block}
	tests := []struct {
		name     string
		in       registryTarget
		wantUser string
		wantPass string
	}{
		{"address string gets the block's", registryTarget{Address: "127.0.0.1:5001"}, "ci", "pw"},
		{"own credentials win", registryTarget{Address: "127.0.0.1:5001", Username: "me", password: "mine"}, "me", "mine"},
		{"other registry: none", registryTarget{Address: "127.0.0.1:5000"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withPipelineCredentials(tt.in, blocks)
			if got.Username != tt.wantUser || got.password != tt.wantPass {
				t.Errorf("credentials = %q/%q, want %q/%q", got.Username, got.password, tt.wantUser, tt.wantPass)
			}
		})
	}
	if got := normalizeRegistryHost("index.docker.io"); got != dockerHubDomain {
		t.Errorf("normalizeRegistryHost(index.docker.io) = %q", got)
	}
}
