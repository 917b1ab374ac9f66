package safetytest

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ansflow/ansflow/internal/clitest"
)

const (
	// canary is the secret carried through the pipelines: it must never be
	// written or printed.
	canary = "CANARY-7f3a9c"
	// Registry with htpasswd auth started by hack/docker-up.sh.
	authRegistry         = "127.0.0.1:5001"
	authRegistryUser     = "ci"
	authRegistryPassword = "ci-secret"
)

// execSecretsPipeline carries var.password (sensitive) and a registry
// password through exec steps that echo them to stdout and stderr, through
// a step reading another's stdout, and into outputs.
const execSecretsPipeline = `variable "password" {
  type      = string
  sensitive = true
}

variable "registry_password" {
  type      = string
  sensitive = true
  default   = ""
}

registry "main" {
  address  = "127.0.0.1:5999"
  username = "ci"
  password = var.registry_password
}

exec "leak" {
  command = ["sh", "-c", "echo pw=$PW; echo err=$PW >&2; echo reg=$REG"]
  env     = { PW = var.password, REG = registry.main.password }
}

exec "argv" {
  command = ["echo", var.password, "prefix-${var.password}-suffix"]
}

exec "downstream" {
  command = ["sh", "-c", "echo got=$UP"]
  env     = { UP = exec.leak.stdout }
}

output "password" {
  value     = var.password
  sensitive = true
}

output "registry_password" {
  value     = registry.main.password
  sensitive = true
}

output "leak_stdout" {
  value = exec.leak.stdout
}
`

// secretRun is a pipeline directory, the secrets to look for and the
// environment that supplies them.
type secretRun struct {
	dir     string
	secrets []string
	env     []string
	outputs []string // sensitive outputs: hidden in lists, shown when named
	steps   []string // step addresses for state show and logs
}

// TestSecretsExec: a full apply of the exec pipeline with the canary as a
// sensitive variable (ANSFLOW_VAR_password) and as a registry password.
func TestSecretsExec(t *testing.T) {
	defer tally(t, promiseSecrets)
	s := secretRun{
		dir:     clitest.Dir(t, map[string]string{"main.hcl": execSecretsPipeline}),
		secrets: []string{canary},
		env:     []string{"ANSFLOW_VAR_password=" + canary, "ANSFLOW_VAR_registry_password=reg-" + canary},
		outputs: []string{"password", "registry_password"},
		steps:   []string{"exec.leak", "exec.argv", "exec.downstream"},
	}
	found := s.check(t)
	t.Logf("canary occurrences found: %d", found)

	// The step's echo of the secret is kept, redacted.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "exec.leak"}, "pw=(sensitive value)"},
		{[]string{"logs", "exec.leak"}, "reg=(sensitive value)"},
		{[]string{"logs", "exec.leak", "-stderr"}, "err=(sensitive value)"},
		{[]string{"logs", "exec.downstream"}, "got=pw=(sensitive value)"},
		{[]string{"output", "leak_stdout"}, "pw=(sensitive value)"},
	} {
		if r := mustRun(t, s.dir, s.env, c.args...); !strings.Contains(r.Stdout, c.want) {
			t.Errorf("ansflow %s: want %q\n%s", strings.Join(c.args, " "), c.want, r)
		}
	}
}

// TestSecretsDocker pushes a FROM-scratch image to the registry with auth,
// the registry password given through ANSFLOW_VAR_registry_password, and
// the canary in a sensitive build argument.
func TestSecretsDocker(t *testing.T) {
	defer tally(t, promiseSecrets)
	requireDocker(t)
	tag := fmt.Sprintf("t%d", time.Now().UnixNano())
	dir := clitest.Dir(t, map[string]string{
		"main.hcl": `variable "registry_password" {
  type      = string
  sensitive = true
}

variable "token" {
  type      = string
  sensitive = true
}

registry "auth" {
  address  = "` + authRegistry + `"
  username = "` + authRegistryUser + `"
  password = var.registry_password
}

docker_build "tiny" {
  image      = "ansflow-safetytest-secrets"
  tag        = "` + tag + `"
  context    = "app"
  build_args = { TOKEN = var.token }
}

docker_push "tiny" {
  image    = docker_build.tiny.ref
  registry = registry.auth
}

output "ref" {
  value = docker_push.tiny.ref
}

output "password" {
  value     = var.registry_password
  sensitive = true
}
`,
		"app/Dockerfile": "FROM scratch\nARG TOKEN\nCOPY hello.txt /hello.txt\n",
		"app/hello.txt":  "hello\n",
	})
	s := secretRun{
		dir:     dir,
		secrets: []string{canary, authRegistryPassword},
		env:     []string{"ANSFLOW_VAR_registry_password=" + authRegistryPassword, "ANSFLOW_VAR_token=" + canary},
		outputs: []string{"password"},
		steps:   []string{"docker_build.tiny", "docker_push.tiny"},
	}
	found := s.check(t)
	t.Logf("canary occurrences found (docker): %d", found)
	_ = run(t, dir, s.env, "destroy", "-auto-approve")
}

// requireDocker skips the test when there is no Docker Engine or no
// registry with auth, and fails it under CI=true.
func requireDocker(t *testing.T) {
	t.Helper()
	missing := ""
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		missing = "no Docker Engine (/var/run/docker.sock)"
	} else if !registryAnswers(authRegistry) {
		missing = "no registry with auth on " + authRegistry
	}
	if missing == "" {
		return
	}
	msg := missing + "; start them with hack/docker-up.sh"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// registryAnswers reports whether a registry answers /v2/ at addr.
func registryAnswers(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}

// check runs plan -out, apply of the saved plan, a second apply, and every
// read command, and looks for the secrets in their output and in every
// file ansflow wrote. It returns the number of occurrences found.
func (s secretRun) check(t *testing.T) int {
	t.Helper()
	found := 0
	look := func(where, text string) {
		for _, secret := range s.secrets {
			if n := strings.Count(text, secret); n > 0 {
				found += n
				t.Errorf("%s: the secret %q appears %d times:\n%s", where, secret, n, clitest.Clip(text))
			}
		}
	}
	lookRun := func(args ...string) clitest.Result {
		r := run(t, s.dir, s.env, args...)
		look("stdout of ansflow "+strings.Join(args, " "), r.Stdout)
		look("stderr of ansflow "+strings.Join(args, " "), r.Stderr)
		return r
	}
	mustLook := func(args ...string) clitest.Result {
		r := lookRun(args...)
		if r.Code != 0 {
			t.Fatalf("want exit 0\n%s", r)
		}
		return r
	}

	mustLook("plan", "-out=secrets.plan")
	apply := mustLook("apply", "secrets.plan")
	if !strings.Contains(apply.Stdout, "(sensitive value)") {
		t.Errorf("apply shows no (sensitive value)\n%s", apply)
	}
	mustLook("apply", "-auto-approve", "-replace="+s.steps[0])
	mustLook("plan")
	mustLook("plan", "-json")
	mustLook("show")
	mustLook("show", "-json")
	mustLook("show", "secrets.plan")
	mustLook("show", "-json", "secrets.plan")
	mustLook("state", "list")
	mustLook("history")
	out := mustLook("output")
	mustLook("output", "-json")
	for _, name := range s.outputs {
		// Asked for by name, a sensitive output is printed, as Terraform
		// does (docs/reference): the one place a secret is shown on purpose.
		for _, args := range [][]string{{"output", name}, {"output", "-json", name}, {"output", "-raw", name}} {
			r := run(t, s.dir, s.env, args...)
			shown := false
			for _, secret := range s.secrets {
				shown = shown || strings.Contains(r.Stdout, secret)
			}
			if r.Code != 0 || !shown || strings.Contains(r.Stdout, "(sensitive value)") || r.Stderr != "" {
				t.Errorf("ansflow %s: want the value asked for\n%s", strings.Join(args, " "), r)
			}
		}
		if !strings.Contains(out.Stdout, name+" = (sensitive value)") {
			t.Errorf("ansflow output: want %s = (sensitive value)\n%s", name, out)
		}
	}
	for _, addr := range s.steps {
		mustLook("state", "show", addr)
		mustLook("logs", addr)
		mustLook("logs", addr, "-stderr")
	}

	// Every file ansflow wrote: state, journal, backups, logs, the plan.
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dir, p)
		look(rel, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, filepath.Join(s.dir, ".ansflow", "state"))
	checkPrivate(t, filepath.Join(s.dir, ".ansflow", "logs"))
	return found
}

// checkPrivate checks that the state and log files are 0600 and their
// directories 0700.
func checkPrivate(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if p == root {
			return nil
		}
		n++
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %#o, want %#o", p, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("found only %d files and directories under %s", n, root)
	}
}
