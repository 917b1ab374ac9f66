package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

const (
	testRegistry     = "127.0.0.1:5000"
	testAuthRegistry = "127.0.0.1:5001" // htpasswd user ci / ci-secret
)

// unavailable skips the test, or fails it in CI, when a service is missing.
func unavailable(t *testing.T, what string, err error) {
	t.Helper()
	msg := what + " is not reachable (" + err.Error() + "); start one with hack/docker-up.sh"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// requireEngine returns a raw client for assertions, or skips.
func requireEngine(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		unavailable(t, "the Docker engine", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		unavailable(t, "the Docker engine", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func requireRegistry(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		unavailable(t, "the registry on "+addr, err)
	}
	resp.Body.Close()
}

// inputs builds a step's input object: vals, schema defaults, else nulls.
func inputs(stepType string, vals map[string]cty.Value) cty.Value {
	s := lookupSchema(stepType)
	m := map[string]cty.Value{}
	for _, a := range s.Inputs {
		switch v, ok := vals[a.Name]; {
		case ok:
			m[a.Name] = v
		case a.Default != cty.NilVal:
			m[a.Name] = a.Default
		default:
			m[a.Name] = cty.NullVal(a.Type)
		}
	}
	return cty.ObjectVal(m)
}

func strs(ss ...string) cty.Value {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func randName(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// testLogs collects a step's output.
type testLogs struct {
	stdout, stderr bytes.Buffer
	mu             sync.Mutex
	progress       []string
}

func (l *testLogs) logs() providers.Logs {
	return providers.Logs{Stdout: &l.stdout, Stderr: &l.stderr, Progress: func(m string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.progress = append(l.progress, m)
	}}
}

var (
	appOnce sync.Once
	appBin  string
	appErr  error
)

// appBinary compiles testdata/app statically, once per test binary.
func appBinary(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ansflow-docker-app-")
		if err != nil {
			appErr = err
			return
		}
		appBin = filepath.Join(dir, "app")
		src, _ := filepath.Abs("testdata/app/main.go")
		cmd := exec.Command("go", "build", "-o", appBin, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			appErr = errors.New(string(out))
		}
	})
	if appErr != nil {
		t.Fatalf("compiling the test app: %v", appErr)
	}
	return appBin
}

// appContext writes a build context with the app binary and a Dockerfile.
func appContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(appBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "app"), bin, 0o755)
	if dockerfile == "" {
		dockerfile = "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644)
	return dir
}

// env is a pipeline environment rooted at dir.
func env(dir string) providers.Env { return providers.Env{Dir: dir, Workspace: "default"} }

// buildApp builds the test app image as image:tag and removes it at cleanup.
func buildApp(t *testing.T, p *Provider, image, tag string) (providers.ApplyResponse, providers.Env) {
	t.Helper()
	return buildAppWith(t, p, image, tag, "")
}

// buildAppWith is buildApp with another Dockerfile.
func buildAppWith(t *testing.T, p *Provider, image, tag, dockerfile string) (providers.ApplyResponse, providers.Env) {
	t.Helper()
	e := env(appContext(t, dockerfile))
	step := p.Steps()["docker_build"]
	in := inputs("docker_build", map[string]cty.Value{"image": cty.StringVal(image), "tag": cty.StringVal(tag)})
	var l testLogs
	resp, err := step.Apply(context.Background(), providers.ApplyRequest{Addr: "docker_build.app", Env: e, Action: providers.Create, Inputs: in, Logs: l.logs()})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, l.stdout.String())
	}
	t.Cleanup(func() {
		step.Delete(context.Background(), providers.DeleteRequest{Addr: "docker_build.app", Env: e, Prior: providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}})
	})
	return resp, e
}

func TestBuildLifecycle(t *testing.T) {
	requireEngine(t)
	p := New()
	defer p.Close()
	step := p.Steps()["docker_build"]
	ctx := context.Background()
	dir := appContext(t, "FROM scratch\nARG VERSION\nLABEL version=$VERSION\nCOPY app /app\nCOPY src /src\nENTRYPOINT [\"/app\"]\n")
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "main.go"), []byte("package main"), 0o644)
	os.WriteFile(filepath.Join(dir, "debug.log"), []byte("noise"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.log\n"), 0o644)
	image := randName("ansflow-test-build-")
	in := inputs("docker_build", map[string]cty.Value{
		"image":      cty.StringVal(image),
		"tag":        cty.StringVal("v1"),
		"tags":       strs("extra"),
		"build_args": cty.MapVal(map[string]cty.Value{"VERSION": cty.StringVal("1.2.3")}),
		"labels":     cty.MapVal(map[string]cty.Value{"team": cty.StringVal("ci")}),
		"builder":    cty.StringVal("legacy"),
	})
	e := env(dir)
	fingerprint := func() string {
		t.Helper()
		fp, err := step.Fingerprint(ctx, providers.FingerprintRequest{Addr: "docker_build.app", Env: e, Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		return fp["context"]
	}
	fp0 := fingerprint()

	var l testLogs
	resp, err := step.Apply(ctx, providers.ApplyRequest{Addr: "docker_build.app", Env: e, Action: providers.Create, Inputs: in, Logs: l.logs()})
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, l.stdout.String())
	}
	prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	defer step.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior})

	id := attrString(resp.Outputs, "image_id")
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("image_id = %q, want sha256:...", id)
	}
	if got, want := attrString(resp.Outputs, "ref"), image+":v1"; got != want {
		t.Errorf("ref = %q, want %q", got, want)
	}
	if got := attrString(resp.Outputs, "context_hash"); got != fp0 {
		t.Errorf("context_hash = %q, want the fingerprint %q", got, fp0)
	}
	if !strings.Contains(l.stdout.String(), "Step 3/7 : LABEL version=$VERSION") {
		t.Errorf("build output lacks the steps:\n%s", l.stdout.String())
	}
	if len(l.progress) == 0 || !strings.HasPrefix(l.progress[0], "Step 1/7 : FROM scratch") {
		t.Errorf("progress = %q, want Step lines", l.progress)
	}
	raw := requireEngine(t)
	img, err := raw.ImageInspect(ctx, image+":extra")
	if err != nil {
		t.Fatalf("extra tag: %v", err)
	}
	if img.ID != id || img.Config.Labels["version"] != "1.2.3" || img.Config.Labels["team"] != "ci" {
		t.Errorf("image %s labels %v, want id %s with version=1.2.3 team=ci", img.ID, img.Config.Labels, id)
	}

	// The fingerprint ignores times, permissions other than x, and ignored files.
	past := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "src", "main.go"), past, past)
	os.Chmod(filepath.Join(dir, "src", "main.go"), 0o600)
	os.WriteFile(filepath.Join(dir, "debug.log"), []byte("more noise"), 0o644)
	if got := fingerprint(); got != fp0 {
		t.Errorf("fingerprint changed after touch/chmod 600/ignored edit: %s -> %s", fp0, got)
	}
	os.Chmod(filepath.Join(dir, "src", "main.go"), 0o700)
	fpExec := fingerprint()
	if fpExec == fp0 {
		t.Error("fingerprint unchanged by chmod +x")
	}
	os.WriteFile(filepath.Join(dir, "src", "main.go"), []byte("package main // v2"), 0o700)
	if got := fingerprint(); got == fpExec {
		t.Error("fingerprint unchanged by a content edit")
	}
	if _, err := os.Stat(filepath.Join(dir, ".ansflow", "cache")); err != nil {
		t.Errorf("no stat cache under .ansflow/cache: %v", err)
	}

	// Read: unchanged, then drift when the tag moves, then gone.
	read := func() providers.ReadResponse {
		t.Helper()
		r, err := step.Read(ctx, providers.ReadRequest{Env: e, Desired: in, Prior: prior})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := read(); r.Gone || len(r.Drift) > 0 {
		t.Errorf("Read after apply = %+v, want no change", r)
	}
	other, _ := buildApp(t, p, image+"-other", "x")
	if _, err := raw.ImageTag(ctx, client.ImageTagOptions{Source: attrString(other.Outputs, "ref"), Target: image + ":v1"}); err != nil {
		t.Fatal(err)
	}
	if r := read(); len(r.Drift) != 1 || r.Drift[0].Path != "image_id" || r.Drift[0].Before != id {
		t.Errorf("Read after retag = %+v, want image_id drift from %s", r, id)
	}
	if err := step.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := read(); !r.Gone {
		t.Errorf("Read after Delete = %+v, want Gone", r)
	}
	if err := step.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior}); err != nil {
		t.Errorf("second Delete: %v, want success", err)
	}
}

func TestBuildFailureQuotesDaemon(t *testing.T) {
	requireEngine(t)
	p := New()
	defer p.Close()
	dir := appContext(t, "FROM scratch\nCOPY does-not-exist /x\n")
	in := inputs("docker_build", map[string]cty.Value{"image": cty.StringVal(randName("ansflow-test-fail-"))})
	_, err := p.Steps()["docker_build"].Apply(context.Background(), providers.ApplyRequest{Env: env(dir), Inputs: in})
	if err == nil || !strings.Contains(err.Error(), "docker build failed") || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("error = %v, want the daemon's message about does-not-exist", err)
	}
}

func runInputs(image string, extra map[string]cty.Value) cty.Value {
	vals := map[string]cty.Value{"image": cty.StringVal(image)}
	for k, v := range extra {
		vals[k] = v
	}
	return inputs("docker_run", vals)
}

func TestRun(t *testing.T) {
	requireEngine(t)
	p := New()
	defer p.Close()
	built, e := buildApp(t, p, randName("ansflow-test-run-"), "v1")
	image := attrString(built.Outputs, "ref")
	step := p.Steps()["docker_run"]
	tests := []struct {
		name     string
		extra    map[string]cty.Value
		wantCode int64
		wantErr  []string
	}{
		{name: "success", extra: map[string]cty.Value{"command": strs("run", "0"), "env": cty.MapVal(map[string]cty.Value{"GREETING": cty.StringVal("hi")})}},
		{name: "expected non-zero", extra: map[string]cty.Value{"command": strs("run", "3"), "expect_exit_code": cty.NumberIntVal(3)}, wantCode: 3},
		{name: "unexpected exit", extra: map[string]cty.Value{"command": strs("run", "3")}, wantCode: 3,
			wantErr: []string{"container exited with code 3 (expected 0)", "err-6\n", "err-15"}},
		{name: "entrypoint override", extra: map[string]cty.Value{"entrypoint": strs("/app", "run"), "command": strs("0")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l testLogs
			resp, err := step.Apply(context.Background(), providers.ApplyRequest{Addr: "docker_run.unit_tests", Env: e, Action: providers.Run, Inputs: runInputs(image, tt.extra), Logs: l.logs()})
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Apply: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, want it to contain %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "err-5\n") {
				t.Errorf("error quotes more than the last 10 stderr lines: %v", err)
			}
			if resp.Outputs == cty.NilVal {
				t.Fatal("no outputs")
			}
			if code := attrInt(resp.Outputs, "exit_code", -1); int64(code) != tt.wantCode {
				t.Errorf("exit_code = %d, want %d", code, tt.wantCode)
			}
			stdout, stderr := attrString(resp.Outputs, "stdout"), attrString(resp.Outputs, "stderr")
			if !strings.HasPrefix(stdout, "hello stdout\n") || strings.Contains(stdout, "err-") {
				t.Errorf("stdout = %q, want only the program's stdout", stdout)
			}
			if !strings.HasPrefix(stderr, "err-1\n") || strings.Contains(stderr, "hello") {
				t.Errorf("stderr = %q, want only the program's stderr", stderr)
			}
			if l.stdout.String() != stdout || l.stderr.String() != stderr {
				t.Errorf("logs (%q, %q) differ from outputs", l.stdout.String(), l.stderr.String())
			}
			if tt.name == "success" && !strings.Contains(stdout, "GREETING=hi") {
				t.Errorf("stdout = %q, want the env var", stdout)
			}
			// remove = true: the container is gone.
			raw := requireEngine(t)
			if _, err := raw.ContainerInspect(context.Background(), attrString(resp.Outputs, "container_id"), client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
				t.Errorf("container still there after remove = true (err %v)", err)
			}
		})
	}
}

func TestRunCancelStopsAndRemoves(t *testing.T) {
	raw := requireEngine(t)
	p := New()
	defer p.Close()
	built, e := buildApp(t, p, randName("ansflow-test-cancel-"), "v1")
	name := randName("ansflow-test-timeout-")
	in := runInputs(attrString(built.Outputs, "ref"), map[string]cty.Value{"command": strs("sleep", "60"), "name": cty.StringVal(name)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := p.Steps()["docker_run"].Apply(ctx, providers.ApplyRequest{Addr: "docker_run.slow", Env: e, Action: providers.Run, Inputs: in})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context deadline exceeded", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	if _, err := raw.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("container %s still exists after cancellation (err %v)", name, err)
	}
}

func TestRunDetachedLifecycle(t *testing.T) {
	raw := requireEngine(t)
	p := New()
	defer p.Close()
	built, e := buildApp(t, p, randName("ansflow-test-detach-"), "v1")
	step := p.Steps()["docker_run"]
	name := randName("ansflow-test-svc-")
	in := runInputs(attrString(built.Outputs, "ref"), map[string]cty.Value{"command": strs("sleep", "300"), "detach": cty.True, "name": cty.StringVal(name)})
	if !step.(providers.Declarativer).IsDeclarative(in) {
		t.Fatal("detach = true is not declarative")
	}
	ctx := context.Background()
	resp, err := step.Apply(ctx, providers.ApplyRequest{Addr: "docker_run.svc", Env: e, Action: providers.Create, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	prior := providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}
	defer step.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior})
	read := func() providers.ReadResponse {
		t.Helper()
		r, err := step.Read(ctx, providers.ReadRequest{Env: e, Desired: in, Prior: prior})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := read(); r.Gone || len(r.Drift) > 0 {
		t.Fatalf("Read of a running container = %+v, want no change", r)
	}
	zero := 0
	if _, err := raw.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: &zero}); err != nil {
		t.Fatal(err)
	}
	r := read()
	if len(r.Drift) != 1 || r.Drift[0] != (providers.Drift{Path: "state", Before: "running", After: "exited"}) {
		t.Errorf("Read of a stopped container = %+v, want drift state: running -> exited", r)
	}
	// Replace removes the old container and starts a new one of the same name.
	resp2, err := step.Apply(ctx, providers.ApplyRequest{Addr: "docker_run.svc", Env: e, Action: providers.Replace, Inputs: in, Prior: &prior})
	if err != nil {
		t.Fatalf("Replace: %v", err)
	}
	prior = providers.Prior{Inputs: in, Outputs: resp2.Outputs, Private: resp2.Private}
	if r := read(); r.Gone || len(r.Drift) > 0 {
		t.Errorf("Read after replace = %+v, want running", r)
	}
	if err := step.Delete(ctx, providers.DeleteRequest{Env: e, Prior: prior}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := read(); !r.Gone {
		t.Errorf("Read after Delete = %+v, want Gone", r)
	}
}
