package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// deleteManifest removes a manifest from the test registry (delete enabled).
func deleteManifest(t *testing.T, addr, repo, digest string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/v2/%s/manifests/%s", addr, repo, digest), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s@%s: HTTP %d", repo, digest, resp.StatusCode)
	}
}

func TestPushPull(t *testing.T) {
	raw := requireEngine(t)
	requireRegistry(t, testRegistry)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "none.json")))
	defer p.Close()
	ctx := context.Background()
	local := randName("ansflow-test-push-")
	built, e := buildApp(t, p, local, "v1")
	repo := "ansflow-test/" + local

	// Push: registry as an address string, repository given, default tag.
	push := p.Steps()["docker_push"]
	pushIn := inputs("docker_push", map[string]cty.Value{
		"image": attr(built.Outputs, "ref"), "registry": cty.StringVal(testRegistry), "repository": cty.StringVal(repo),
	})
	var l testLogs
	pushed, err := push.Apply(ctx, providers.ApplyRequest{Addr: "docker_push.app", Env: e, Action: providers.Create, Inputs: pushIn, Logs: l.logs()})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, l.stdout.String())
	}
	pushPrior := providers.Prior{Inputs: pushIn, Outputs: pushed.Outputs, Private: pushed.Private}
	defer push.Delete(ctx, providers.DeleteRequest{Env: e, Prior: pushPrior})
	digest := attrString(pushed.Outputs, "digest")
	ref := attrString(pushed.Outputs, "ref")
	if !strings.HasPrefix(digest, "sha256:") || ref != testRegistry+"/"+repo+"@"+digest {
		t.Fatalf("push outputs digest=%q ref=%q", digest, ref)
	}
	if r, err := push.Read(ctx, providers.ReadRequest{Env: e, Desired: pushIn, Prior: pushPrior}); err != nil || r.Gone {
		t.Errorf("Read after push = %+v, %v; want present", r, err)
	}

	// Pull back by digest after removing every local name of the image.
	for _, name := range []string{attrString(built.Outputs, "ref"), testRegistry + "/" + repo + ":v1"} {
		raw.ImageRemove(ctx, name, client.ImageRemoveOptions{})
	}
	pull := p.Steps()["docker_pull"]
	pullIn := inputs("docker_pull", map[string]cty.Value{"image": cty.StringVal(ref)})
	l = testLogs{}
	pulled, err := pull.Apply(ctx, providers.ApplyRequest{Addr: "docker_pull.app", Env: e, Action: providers.Create, Inputs: pullIn, Logs: l.logs()})
	if err != nil {
		t.Fatalf("pull by digest: %v", err)
	}
	if got := attrString(pulled.Outputs, "image_id"); got != attrString(built.Outputs, "image_id") {
		t.Errorf("pulled image_id %s, built %s", got, attrString(built.Outputs, "image_id"))
	}
	if attrString(pulled.Outputs, "digest") != digest || attrString(pulled.Outputs, "ref") != ref {
		t.Errorf("pull outputs = %#v, want digest %s ref %s", pulled.Outputs, digest, ref)
	}
	if !strings.Contains(l.stdout.String(), "Pull complete") && !strings.Contains(l.stdout.String(), "Downloaded") {
		t.Errorf("pull log = %q, want pull progress", l.stdout.String())
	}

	// Pull by tag; if_not_present skips a present image, always pulls.
	tagRef := testRegistry + "/" + repo + ":v1"
	for _, tt := range []struct {
		policy   string
		wantPull bool
	}{{"if_not_present", true}, {"if_not_present", false}, {"always", true}} {
		in := inputs("docker_pull", map[string]cty.Value{"image": cty.StringVal(tagRef), "policy": cty.StringVal(tt.policy)})
		l = testLogs{}
		out, err := pull.Apply(ctx, providers.ApplyRequest{Addr: "docker_pull.tag", Env: e, Inputs: in, Logs: l.logs()})
		if err != nil {
			t.Fatalf("pull %s: %v", tt.policy, err)
		}
		if pulledNow := len(l.progress) > 0 && strings.HasPrefix(l.progress[0], "pulling "); pulledNow != tt.wantPull {
			t.Errorf("policy %s: pulled = %v, want %v (%q)", tt.policy, pulledNow, tt.wantPull, l.progress)
		}
		if attrString(out.Outputs, "digest") != digest {
			t.Errorf("policy %s: digest %s, want %s", tt.policy, attrString(out.Outputs, "digest"), digest)
		}
		pullIn = in
		pulled = out
	}
	pullPrior := providers.Prior{Inputs: pullIn, Outputs: pulled.Outputs}
	if r, err := pull.Read(ctx, providers.ReadRequest{Env: e, Desired: pullIn, Prior: pullPrior}); err != nil || r.Gone || len(r.Drift) > 0 {
		t.Errorf("pull Read = %+v, %v; want unchanged", r, err)
	}

	// Move the tag to another image: the pull's Read reports digest drift.
	other, _ := buildAppWith(t, p, local+"-other", "v2", "FROM scratch\nCOPY app /app\nLABEL variant=other\nENTRYPOINT [\"/app\"]\n")
	otherIn := inputs("docker_push", map[string]cty.Value{
		"image": attr(other.Outputs, "ref"), "registry": cty.StringVal(testRegistry), "repository": cty.StringVal(repo), "tags": strs("v1"),
	})
	moved, err := push.Apply(ctx, providers.ApplyRequest{Addr: "docker_push.other", Env: e, Inputs: otherIn})
	if err != nil {
		t.Fatal(err)
	}
	newDigest := attrString(moved.Outputs, "digest")
	r, err := pull.Read(ctx, providers.ReadRequest{Env: e, Desired: pullIn, Prior: pullPrior})
	if err != nil || len(r.Drift) != 1 || r.Drift[0] != (providers.Drift{Path: "digest", Before: digest, After: newDigest}) {
		t.Errorf("pull Read after the tag moved = %+v, %v; want digest drift %s -> %s", r, err, digest, newDigest)
	}

	// Delete the first manifest from the registry: the push's Read sees it gone.
	deleteManifest(t, testRegistry, repo, digest)
	if r, err := push.Read(ctx, providers.ReadRequest{Env: e, Desired: pushIn, Prior: pushPrior}); err != nil || !r.Gone {
		t.Errorf("push Read after the manifest was deleted = %+v, %v; want Gone", r, err)
	}

	// Delete of the pull removes the local image name; twice is fine.
	for range 2 {
		if err := pull.Delete(ctx, providers.DeleteRequest{Env: e, Prior: pullPrior}); err != nil {
			t.Errorf("pull Delete: %v", err)
		}
	}
	if _, err := raw.ImageInspect(ctx, tagRef); err == nil {
		t.Errorf("%s still present after Delete", tagRef)
	}
}

func TestPushWithCredentials(t *testing.T) {
	requireEngine(t)
	requireRegistry(t, testAuthRegistry)
	ctx := context.Background()
	const secret = "ci-secret"
	regBlock := func(user, pass string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal("auth"), "address": cty.StringVal(testAuthRegistry),
			"username": cty.StringVal(user), "password": cty.StringVal(pass),
		})
	}
	cfgDir := t.TempDir()
	p := New(WithDockerConfig(filepath.Join(cfgDir, "config.json")))
	defer p.Close()
	built, e := buildApp(t, p, randName("ansflow-test-auth-"), "v1")
	push := p.Steps()["docker_push"]

	t.Run("wrong password fails", func(t *testing.T) {
		in := inputs("docker_push", map[string]cty.Value{"image": attr(built.Outputs, "ref"), "registry": regBlock("ci", "wrong")})
		_, err := push.Apply(ctx, providers.ApplyRequest{Env: e, Inputs: in})
		if err == nil {
			t.Fatal("push with a wrong password succeeded")
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error reveals the password: %v", err)
		}
	})
	for _, tt := range []struct {
		name     string
		registry cty.Value
		config   string
	}{
		{"registry block", regBlock("ci", secret), ""},
		{"docker config.json", cty.StringVal(testAuthRegistry), fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, testAuthRegistry, base64.StdEncoding.EncodeToString([]byte("ci:"+secret)))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(tt.config), 0o600)
			in := inputs("docker_push", map[string]cty.Value{"image": attr(built.Outputs, "ref"), "registry": tt.registry})
			var l testLogs
			resp, err := push.Apply(ctx, providers.ApplyRequest{Env: e, Inputs: in, Logs: l.logs()})
			if err != nil {
				t.Fatalf("push: %v", err)
			}
			prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
			defer push.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior})
			outJSON, _ := json.Marshal(resp.Outputs.GoString())
			for what, s := range map[string]string{"outputs": string(outJSON), "private": string(resp.Private), "stdout": l.stdout.String(), "stderr": l.stderr.String(), "progress": strings.Join(l.progress, "\n")} {
				if strings.Contains(s, secret) {
					t.Errorf("the password appears in %s", what)
				}
			}
			if r, err := push.Read(ctx, providers.ReadRequest{Env: e, Desired: in, Prior: prior}); err != nil || r.Gone {
				t.Errorf("Read through the authenticated registry = %+v, %v", r, err)
			}
		})
	}
}
