package cmd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

// service is something an example applies against.
type service string

const (
	docker     service = "Docker Engine"
	registry   service = "registry on 127.0.0.1:5000"
	kubernetes service = "Kubernetes cluster ($KUBECONFIG)"
)

// exampleSpec says what an example needs to be applied.
type exampleSpec struct {
	needs []service
	// args are extra flags for plan and apply, given the example's
	// directory as written on the command line.
	args func(dir string) []string
}

// exampleSpecs has one entry per directory in examples/. A new example
// must be added here, so that the test knows what it needs.
var exampleSpecs = map[string]exampleSpec{
	"docker":     {needs: []service{docker, registry}},
	"kubernetes": {needs: []service{kubernetes}},
	"services":   {needs: []service{docker, registry, kubernetes}},
	"seed": {
		needs: []service{docker, registry, kubernetes},
		// -var-file is relative to -chdir, as in Terraform.
		args: func(string) []string { return []string{"-var-file=testenv.vars.hcl"} },
	},
}

// TestExamples runs every example: `validate` always passes; where the
// services an example needs answer, a full apply succeeds, and a plan and a
// second apply find nothing to do. Missing services skip the apply locally and fail it
// when CI=true. Each run uses its own workspace and is destroyed afterwards.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "examples", "*", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range dirs {
		if strings.HasSuffix(f, ".vars.hcl") {
			continue
		}
		dir := filepath.Dir(f)
		name := filepath.Base(dir)
		if seen[name] {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			spec, ok := exampleSpecs[name]
			if !ok {
				t.Fatalf("examples/%s is not in exampleSpecs (cmd/examples_test.go); add it with the services it needs", name)
			}
			testExample(t, dir, spec)
		})
	}
	for name := range exampleSpecs {
		if !seen[name] {
			t.Errorf("exampleSpecs lists %q but examples/%s has no pipeline", name, name)
		}
	}
}

func testExample(t *testing.T, dir string, spec exampleSpec) {
	ws := fmt.Sprintf("examples-test-%d", os.Getpid())
	cli := ansflow(t, clitest.Keep("KUBECONFIG", "DOCKER_HOST"), clitest.With("ANSFLOW_WORKSPACE="+ws))
	run := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := cli.Command(ctx, dir, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatalf("ansflow %s: %v", strings.Join(args, " "), err)
		}
		return out.String(), code
	}

	if out, code := run(t, "validate"); code != 0 {
		t.Fatalf("ansflow validate exited %d:\n%s", code, out)
	}

	for _, s := range spec.needs {
		if err := available(s); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to apply this example and is not available on CI: %v", s, err)
			}
			t.Skipf("not applying: %s is not available (%v); see the example's README", s, err)
		}
	}
	var extra []string
	if spec.args != nil {
		extra = spec.args(dir)
	}
	t.Cleanup(func() {
		if out, code := run(t, append([]string{"destroy", "-auto-approve"}, extra...)...); code != 0 {
			t.Errorf("ansflow destroy exited %d:\n%s", code, out)
			return // keep the state: it says what is left behind
		}
		removeWorkspace(t, dir, ws)
	})

	out, code := run(t, append([]string{"apply", "-auto-approve"}, extra...)...)
	if code != 0 {
		t.Fatalf("first apply exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "Apply complete after") {
		t.Errorf("first apply did not end with its summary:\n%s", out)
	}
	out, code = run(t, append([]string{"plan", "-detailed-exitcode"}, extra...)...)
	if code != 0 {
		t.Errorf("after a full apply, plan -detailed-exitcode exited %d, want 0 (nothing to do):\n%s", code, out)
	}
	out, code = run(t, append([]string{"apply", "-auto-approve"}, extra...)...)
	if code != 0 || !strings.Contains(out, "Nothing to do.") {
		t.Errorf("a second apply exited %d, want 0 with nothing to do:\n%s", code, out)
	}
}

// removeWorkspace deletes the state and logs a test workspace left in dir.
func removeWorkspace(t *testing.T, dir, ws string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".ansflow", "state", ws+".*"))
	files = append(files, filepath.Join(dir, ".ansflow", "logs", ws))
	for _, f := range files {
		if err := os.RemoveAll(f); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	}
}

// available reports why a service cannot be used, or nil.
func available(s service) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	switch s {
	case docker:
		return dockerPing(ctx)
	case registry:
		return httpOK(ctx, http.DefaultClient, "http://127.0.0.1:5000/v2/")
	case kubernetes:
		kc := os.Getenv("KUBECONFIG")
		if kc == "" {
			return fmt.Errorf("KUBECONFIG is not set (eval \"$(hack/testenv/up.sh)\" starts a cluster)")
		}
		for _, f := range filepath.SplitList(kc) {
			if _, err := os.Stat(f); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown service %q", s)
}

// dockerPing asks the engine at DOCKER_HOST (a unix socket) or the
// standard socket whether it answers.
func dockerPing(ctx context.Context) error {
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		path, ok := strings.CutPrefix(h, "unix://")
		if !ok {
			return nil // a TCP or SSH engine: let the apply find out
		}
		sock = path
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	return httpOK(ctx, client, "http://docker/_ping")
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
