package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// busyboxPath is Debian's busybox-static (hack/deps.sh installs it).
const busyboxPath = "/bin/busybox"

// busyboxBase builds a FROM scratch image with a shell from the host's
// static busybox, so RUN instructions work without pulling anything.
func busyboxBase(t *testing.T, p *Provider) string {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox-static is missing (%v): run hack/deps.sh", err)
		}
		t.Skipf("busybox-static is missing (%v): apt-get install -y busybox-static", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"), 0o644)
	image := randName("bk-base-")
	resp := buildIn(t, p, dir, map[string]cty.Value{"image": cty.StringVal(image), "network": cty.StringVal("none")})
	return attrString(resp.Outputs, "ref")
}

// buildIn applies a docker_build of dir with vals and deletes its image at
// cleanup.
func buildIn(t *testing.T, p *Provider, dir string, vals map[string]cty.Value) providers.ApplyResponse {
	t.Helper()
	resp, l, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, l.stdout.String())
	}
	step := p.Steps()["docker_build"]
	in := inputs("docker_build", vals)
	t.Cleanup(func() {
		step.Delete(context.Background(), providers.DeleteRequest{Env: env(dir), Prior: providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}})
	})
	return resp
}

func tryBuild(p *Provider, dir string, vals map[string]cty.Value) (providers.ApplyResponse, *testLogs, error) {
	var l testLogs
	resp, err := p.Steps()["docker_build"].Apply(context.Background(), providers.ApplyRequest{
		Addr: "docker_build.app", Env: env(dir), Action: providers.Create, Inputs: inputs("docker_build", vals), Logs: l.logs(),
	})
	return resp, &l, err
}

// runOutput runs cmd in image and returns its stdout.
func runOutput(t *testing.T, p *Provider, dir, image string, cmd ...string) string {
	t.Helper()
	var l testLogs
	resp, err := p.Steps()["docker_run"].Apply(context.Background(), providers.ApplyRequest{
		Addr: "docker_run.check", Env: env(dir), Action: providers.Run,
		Inputs: runInputs(image, map[string]cty.Value{"entrypoint": strs(cmd...), "network": cty.StringVal("none")}), Logs: l.logs(),
	})
	if err != nil {
		t.Fatalf("running %v in %s: %v\n%s", cmd, image, err, l.stderr.String())
	}
	return attrString(resp.Outputs, "stdout")
}

const featuresDockerfile = `FROM BASE AS build
COPY --chmod=0755 run.sh /usr/local/bin/run.sh
COPY src.txt /src.txt
RUN --mount=type=cache,target=/cache cat /src.txt >> /cache/log && wc -l < /cache/log | tr -d " " > /count
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d" " -f1 > /secret-sum

FROM build AS broken
RUN exit 9

FROM build AS final
CMD ["/usr/local/bin/run.sh"]
`

func TestBuildKitFeatures(t *testing.T) {
	raw := requireEngine(t)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	base := busyboxBase(t, p)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(strings.Replace(featuresDockerfile, "BASE", base, 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\ncat /count\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("one\n"), 0o644)
	const canary = "bk-canary-5f1e0c2a"
	image := randName("bk-features-")
	vals := map[string]cty.Value{
		"image":   cty.StringVal(image),
		"target":  cty.StringVal("final"), // the broken stage is never built
		"secrets": cty.MapVal(map[string]cty.Value{"token": cty.StringVal(canary)}),
	}
	resp, l, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, l.stdout.String())
	}
	ref := attrString(resp.Outputs, "ref")
	t.Cleanup(func() { removeImage(context.Background(), raw, ref, providers.Logs{}) })
	sum := sha256.Sum256([]byte(canary))
	got := runOutput(t, p, dir, ref, "sh", "-c", "cat /count /secret-sum; stat -c %a /usr/local/bin/run.sh")
	if want := "1\n" + hex.EncodeToString(sum[:]) + "\n755\n"; got != want {
		t.Errorf("count, secret checksum, run.sh mode = %q, want %q", got, want)
	}
	if !strings.Contains(l.stdout.String(), "[build 2/5] COPY --chmod=0755 run.sh") || !strings.Contains(l.stdout.String(), "DONE") {
		t.Errorf("step log is not BuildKit's plain progress:\n%s", l.stdout.String())
	}
	if !hasPrefixed(l.progress, "[build ") {
		t.Errorf("status lines %q, want Dockerfile instructions", l.progress)
	}

	// A changed source reruns the RUN with the cache mount kept; the
	// unchanged COPY above it is CACHED.
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("two\n"), 0o644)
	resp2, l2, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, l2.stdout.String())
	}
	if got := runOutput(t, p, dir, attrString(resp2.Outputs, "ref"), "cat", "/count"); got != "2\n" {
		t.Errorf("cache mount lines after the second build = %q, want 2", got)
	}
	if !strings.Contains(l2.stdout.String(), "CACHED") {
		t.Errorf("rebuild log has no CACHED step:\n%s", l2.stdout.String())
	}

	layers := savedLayers(t, raw, ref)
	for what, s := range map[string]string{
		"image layers": layers, "stdout": l.stdout.String() + l2.stdout.String(), "stderr": l.stderr.String(),
		"status": strings.Join(l.progress, "\n"), "outputs": resp.Outputs.GoString(), "private": string(resp.Private),
	} {
		if strings.Contains(s, canary) {
			t.Errorf("the secret appears in the %s", what)
		}
	}
	if !strings.Contains(layers, "usr/local/bin/run.sh") {
		t.Error("docker save output lacks the image's files; the canary check saw nothing")
	}
}

func hasPrefixed(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestBuildKitFailureQuotesInstruction(t *testing.T) {
	requireEngine(t)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	base := busyboxBase(t, p)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN echo preparing && echo boom-output-line && exit 3\n"), 0o644)
	_, l, err := tryBuild(p, dir, map[string]cty.Value{"image": cty.StringVal(randName("bk-fail-"))})
	if err == nil {
		t.Fatal("a failing RUN built")
	}
	for _, want := range []string{"RUN echo preparing", "Dockerfile:2", "boom-output-line", "exit code: 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v\nlog:\n%s", want, err, l.stdout.String())
		}
	}
}

func TestBuildKitInlineCacheThroughRegistry(t *testing.T) {
	raw := requireEngine(t)
	requireRegistry(t, testRegistry)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	ctx := context.Background()
	base := busyboxBase(t, p)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY in.txt /in.txt\nRUN cat /in.txt > /out.txt && echo ran-$((40+2))\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte(randName("content-")), 0o644)
	image := testRegistry + "/" + randName("bk-cache-")
	vals := map[string]cty.Value{"image": cty.StringVal(image), "cache_to": strs("type=inline")}
	built := buildIn(t, p, dir, vals)
	pushIn := inputs("docker_push", map[string]cty.Value{"image": attr(built.Outputs, "ref")})
	var pl testLogs
	pushed, err := p.Steps()["docker_push"].Apply(ctx, providers.ApplyRequest{Env: env(dir), Inputs: pushIn, Logs: pl.logs()})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, pl.stdout.String())
	}
	defer p.Steps()["docker_push"].Delete(ctx, providers.DeleteRequest{Env: env(dir), Prior: providers.Prior{Inputs: pushIn, Outputs: pushed.Outputs, Private: pushed.Private}})

	// Forget everything local but the base image.
	removeImage(ctx, raw, attrString(built.Outputs, "ref"), providers.Logs{})
	if _, err := raw.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	vals["cache_from"] = strs(attrString(built.Outputs, "ref"))
	delete(vals, "cache_to")
	_, l, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("build from the registry cache: %v\n%s", err, l.stdout.String())
	}
	if !strings.Contains(l.stdout.String(), "CACHED") || strings.Contains(l.stdout.String(), "ran-42") {
		t.Errorf("the RUN step did not come from the pushed image's inline cache:\n%s", l.stdout.String())
	}
	removeImage(ctx, raw, attrString(built.Outputs, "ref"), providers.Logs{})
}

func TestBuildKitUnsupportedFeaturesExplain(t *testing.T) {
	requireEngine(t)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY Dockerfile /\n"), 0o644)
	for name, v := range map[string]map[string]cty.Value{
		"registry cache export": {"cache_to": strs("type=registry,ref=127.0.0.1:5000/bk-cache:buildcache")},
		"two platforms":         {"platforms": strs("linux/amd64", "linux/arm64")},
	} {
		t.Run(name, func(t *testing.T) {
			v["image"] = cty.StringVal(randName("bk-unsupported-"))
			_, _, err := tryBuild(p, dir, v)
			if err == nil {
				t.Skip("this engine has the containerd image store")
			}
			if !strings.Contains(err.Error(), "containerd image store") || !strings.Contains(err.Error(), "type=inline") {
				t.Errorf("error = %v, want the reason and the inline-cache advice", err)
			}
		})
	}
}

// savedLayers returns the concatenated file contents of an image's layers.
func savedLayers(t *testing.T, raw *client.Client, image string) string {
	t.Helper()
	rc, err := raw.ImageSave(context.Background(), []string{image})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		b.WriteString(h.Name + "\n")
		b.Write(data)
	}
	return b.String()
}

// credentialHelper compiles testdata/credhelper as docker-credential-test,
// puts it first on PATH and makes it answer with secret.
func credentialHelper(t *testing.T, secret string) {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/credhelper/main.go")
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "docker-credential-test"), src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling the credential helper: %v\n%s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("ANSFLOW_TEST_CRED_SECRET", secret)
}

func TestCredentialHelperSuppliesPushPassword(t *testing.T) {
	requireEngine(t)
	requireRegistry(t, testAuthRegistry)
	ctx := context.Background()
	credentialHelper(t, "ci-secret")
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"credHelpers":{"`+testAuthRegistry+`":"test"}}`), 0o600)
	p := New() // reads $DOCKER_CONFIG/config.json
	defer p.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY Dockerfile /\n"), 0o644)
	built := buildIn(t, p, dir, map[string]cty.Value{"image": cty.StringVal(randName("bk-cred-")), "tag": cty.StringVal("v1")})
	push := p.Steps()["docker_push"]
	in := inputs("docker_push", map[string]cty.Value{"image": attr(built.Outputs, "ref"), "registry": cty.StringVal(testAuthRegistry)})
	var l testLogs
	resp, err := push.Apply(ctx, providers.ApplyRequest{Env: env(dir), Inputs: in, Logs: l.logs()})
	if err != nil {
		t.Fatalf("push with the helper's password: %v\n%s", err, l.stdout.String())
	}
	prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	defer push.Delete(ctx, providers.DeleteRequest{Env: env(dir), Prior: prior})
	if r, err := push.Read(ctx, providers.ReadRequest{Env: env(dir), Desired: in, Prior: prior}); err != nil || r.Gone {
		t.Errorf("Read through the helper's credentials = %+v, %v", r, err)
	}
	for what, s := range map[string]string{"stdout": l.stdout.String(), "private": string(resp.Private), "outputs": resp.Outputs.GoString()} {
		if strings.Contains(s, "ci-secret") {
			t.Errorf("the password appears in %s", what)
		}
	}

	// A wrong password from the helper is refused: the helper was asked.
	t.Setenv("ANSFLOW_TEST_CRED_SECRET", "wrong")
	if _, err := push.Apply(ctx, providers.ApplyRequest{Env: env(dir), Inputs: in}); err == nil {
		t.Error("push succeeded with the helper's wrong password")
	}
}

func TestBuildKitNamedContext(t *testing.T) {
	requireEngine(t)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	extra := t.TempDir()
	os.WriteFile(filepath.Join(extra, "extra.txt"), []byte("from a named context"), 0o644)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY --from=assets extra.txt /extra.txt\n"), 0o644)
	vals := map[string]cty.Value{"image": cty.StringVal(randName("bk-named-")), "build_contexts": cty.MapVal(map[string]cty.Value{"assets": cty.StringVal(extra)})}
	resp, l, err := tryBuild(p, dir, vals)
	if err != nil && strings.Contains(err.Error(), "build_contexts needs Docker Engine 23.0") {
		t.Skipf("this engine's Dockerfile frontend has no named contexts; the step says so: %v", err)
	}
	if err != nil {
		t.Fatalf("build: %v\n%s", err, l.stdout.String())
	}
	ref := attrString(resp.Outputs, "ref")
	t.Cleanup(func() { removeImage(context.Background(), requireEngine(t), ref, providers.Logs{}) })
	if layers := savedLayers(t, requireEngine(t), ref); !strings.Contains(layers, "from a named context") {
		t.Error("the named context's file is not in the image")
	}
}

// TestBuildKitFromAuthenticatedRegistry: FROM an image in the registry that
// needs a password, given by the pipeline's registry block through
// BuildKit's auth session.
func TestBuildKitFromAuthenticatedRegistry(t *testing.T) {
	raw := requireEngine(t)
	requireRegistry(t, testAuthRegistry)
	ctx := context.Background()
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	block := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("auth"), "address": cty.StringVal(testAuthRegistry),
		"username": cty.StringVal("ci"), "password": cty.StringVal("ci-secret"),
	})
	base := busyboxBase(t, p)
	pushIn := inputs("docker_push", map[string]cty.Value{"image": cty.StringVal(base), "registry": block})
	pushed, err := p.Steps()["docker_push"].Apply(ctx, providers.ApplyRequest{Env: env(t.TempDir()), Inputs: pushIn})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	remote := testAuthRegistry + "/" + strings.TrimSuffix(base, ":latest") + ":latest"
	removeImage(ctx, raw, remote, providers.Logs{}) // only the registry has it now under that name
	defer p.Steps()["docker_push"].Delete(ctx, providers.DeleteRequest{Env: env(t.TempDir()), Prior: providers.Prior{Inputs: pushIn, Outputs: pushed.Outputs, Private: pushed.Private}})

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+remote+"\nRUN echo ok > /ok\n"), 0o644)
	in := inputs("docker_build", map[string]cty.Value{"image": cty.StringVal(randName("bk-authfrom-"))})
	build := func(e providers.Env) (providers.ApplyResponse, *testLogs, error) {
		var l testLogs
		resp, err := p.Steps()["docker_build"].Apply(ctx, providers.ApplyRequest{Env: e, Inputs: in, Logs: l.logs()})
		return resp, &l, err
	}
	if _, _, err := build(env(dir)); err == nil {
		t.Fatal("FROM the authenticated registry built without credentials")
	}
	e := env(dir)
	e.Registries = map[string]cty.Value{"auth": block}
	resp, l, err := build(e)
	if err != nil {
		t.Fatalf("build with the registry block: %v\n%s", err, l.stdout.String())
	}
	removeImage(ctx, raw, attrString(resp.Outputs, "ref"), providers.Logs{})
	if strings.Contains(l.stdout.String(), "ci-secret") {
		t.Error("the password appears in the build log")
	}
}

// TestBuildKitSSHForwarding forwards a real ssh-agent into RUN
// --mount=type=ssh.
func TestBuildKitSSHForwarding(t *testing.T) {
	requireEngine(t)
	agent, err := exec.LookPath("ssh-agent")
	if err != nil {
		unavailable(t, "ssh-agent (openssh-client; hack/deps.sh installs it)", err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(agent, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	base := busyboxBase(t, p)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent-at-$((6*7))\n"), 0o644)
	vals := map[string]cty.Value{"image": cty.StringVal(randName("bk-ssh-")), "ssh": strs("default")}
	_, l, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("build with the agent forwarded: %v\n%s", err, l.stdout.String())
	}
	if !strings.Contains(l.stdout.String(), "agent-at-42") {
		t.Errorf("the RUN did not see the agent socket:\n%s", l.stdout.String())
	}
	removeImage(context.Background(), requireEngine(t), attrString(inputs("docker_build", vals), "image")+":latest", providers.Logs{})
}
