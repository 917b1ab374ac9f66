package convert

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/graph"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// mustLoad writes hcl into a fresh pipeline directory and checks that
// config.Load and the graph builder accept it without any diagnostic.
func mustLoad(t *testing.T, hclSrc []byte) *config.Pipeline {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), hclSrc, 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := builtin.Load(dir)
	if len(diags) == 0 {
		_, diags = graph.Build(p)
	}
	if len(diags) > 0 {
		t.Fatalf("the converted pipeline does not load: %s\n%s", diags.Error(), hclSrc)
	}
	return p
}

func TestConvertSeed(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "seed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := Convert(src, "testdata/seed.yaml")
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("unexpected warning: %s", w)
	}
	checkGolden(t, filepath.Join("testdata", "seed.hcl"), got)

	p := mustLoad(t, got)
	mustPlan(t, p)
	// The seed's implicit context passing must have become real edges.
	wantRefs := map[string][]string{
		"docker_run.run_unit_tests":            {"docker_build.build_application_image"},
		"docker_push.push_to_registry":         {"docker_build.build_application_image", "docker_run.run_unit_tests"},
		"k8s_deploy.deploy_to_development":     {"docker_push.push_to_registry"},
		"k8s_wait.wait_for_deployment":         {"k8s_deploy.deploy_to_development"},
		"k8s_exec.run_integration_tests":       {"k8s_wait.wait_for_deployment"},
		"k8s_scale.scale_for_production":       {"k8s_deploy.deploy_to_development", "k8s_exec.run_integration_tests"},
		"docker_build.build_application_image": nil,
	}
	for addr, want := range wantRefs {
		s := p.Steps[addr]
		if s == nil {
			t.Errorf("no step %s in the result", addr)
			continue
		}
		var got []string
		for _, r := range s.Refs {
			got = append(got, r.Addr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("references of %s (-want +got):\n%s", addr, diff)
		}
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		contains []string // lines (trimmed) the HCL must contain
		warnings []string // substrings, one per warning, in order
	}{
		{
			name: "unknown fields are reported, not dropped silently",
			yaml: `
pipeline:
  name: p
  owner: me
  steps:
    - name: "Run Unit Tests"
      type: docker_run
      docker_image: alpine
      k8s_namespace: x
      docker_config:
        command: "echo hi"
        foo: 1
`,
			contains: []string{`image   = "alpine"`, `command = ["echo", "hi"]`},
			warnings: []string{
				`t.yaml:4: pipeline.owner is not supported; dropped`,
				`t.yaml:12: step "Run Unit Tests": docker_config.foo is not supported; dropped`,
				`t.yaml:9: step "Run Unit Tests": k8s_namespace is not used by docker_run steps; dropped`,
			},
		},
		{
			name: "placeholders become references and templates",
			yaml: `
steps:
  - name: Build
    type: docker_build
    docker_image: app
    docker_tag: "v{{build_number}}-{{git_short_commit}}"
    docker_config:
      labels: {branch: "{{git_branch}}", "org.label": "{{ owner }}", odd: "{{a.b}}"}
`,
			contains: []string{
				`tag   = "v${var.build_number}-${git.short_commit}"`,
				`branch      = git.branch`,
				`"org.label" = var.owner`,
				`odd         = "{{a.b}}"`,
				`variable "build_number" {`, `variable "owner" {`,
			},
			warnings: []string{`step "Build": {{a.b}} is not a valid variable name; kept as text`},
		},
		{
			name: "same order runs in parallel; the next group depends on all of them",
			yaml: `
steps:
  - {name: A, type: exec, order: 1, command: "make a"}
  - {name: B, type: exec, order: 1, command: "make b"}
  - {name: C, type: exec, order: 2, command: "make c"}
`,
			contains: []string{`depends_on = [exec.a, exec.b]`},
		},
		{
			name: "shell syntax runs through sh -c",
			yaml: `
steps:
  - {name: Lint, type: exec, command: "npm ci && npm run lint > lint.txt"}
  - {name: Quote, type: exec, command: "echo 'a b' \"c d\""}
`,
			contains: []string{
				`command = ["sh", "-c", "npm ci && npm run lint > lint.txt"]`,
				`command    = ["echo", "a b", "c d"]`,
			},
		},
		{
			name: "registry without address and image named after the build",
			yaml: `
steps:
  - {name: Build, type: docker_build, docker_image: app, docker_tag: "1"}
  - {name: Push, type: docker_push, docker_image: app, docker_tag: "1", docker_registry: 7}
  - {name: Pull, type: docker_pull, docker_image: "redis:7", docker_registry: 7}
`,
			contains: []string{
				`address = var.registry_address`,
				`image    = docker_build.build.ref`,
				`image      = "redis:7"`,
				`registry = registry.main`,
			},
			warnings: []string{`docker_registry 7 is a registry stored in AnsFlow whose address is not in the file; registry.main reads it from var.registry_address`},
		},
		{
			name: "k8s steps without deploy get variables; conditions that cannot be expressed are reported",
			yaml: `
steps:
  - name: Wait
    type: k8s_wait
    k8s_namespace: prod
    k8s_config: {timeout: "5m"}
    conditions:
      - {type: branch_equals, value: main}
      - {type: time_window, value: "9-17"}
  - name: Logs
    type: k8s_logs
    k8s_config: {pod_selector: "app=x", tail: 10}
`,
			contains: []string{
				`when      = git.branch == "main"`,
				`name      = var.wait_name`,
				`kind      = var.wait_kind`,
				`condition = var.wait_condition`,
				`timeout   = "5m"`,
				`tail_lines   = 10`,
				`namespace = "prod"`,
			},
			warnings: []string{
				`condition type "time_window" is not supported`,
				`no k8s_resource_name or k8s_config.selector given and no earlier k8s_deploy; name = var.wait_name`,
				`no k8s_config.resource_type given; kind = var.wait_kind`,
				`no k8s_config.condition given; condition = var.wait_condition`,
			},
		},
		{
			name: "several namespaces stay on the steps; implicit targets follow the deployment",
			yaml: `
steps:
  - name: Deploy
    type: k8s_deploy
    k8s_namespace: a
    k8s_resource_name: web
    k8s_config: {deployment_spec: {image: "nginx", ports: [80]}}
  - {name: Scale, type: k8s_scale, k8s_config: {replicas: 3}}
  - {name: Exec, type: k8s_exec, k8s_namespace: b, k8s_resource_name: pod-1, command: [ls, /]}
  - {name: Clean, type: k8s_delete, k8s_config: {resource_type: deployment}}
`,
			contains: []string{
				`namespace = k8s_deploy.deploy.namespace`,
				`ports     = [{ container_port = 80 }]`,
				`pod        = "pod-1"`,
				`command    = ["ls", "/"]`,
				`kind       = "deployment"`,
			},
		},
		{
			name: "description becomes a comment; placeholders in a registry address",
			yaml: `
pipeline:
  description: "Builds things.\nTwice."
  steps:
    - {name: Push, type: docker_push, docker_image: app, docker_config: {registry_url: "{{registry_host}}:5000"}}
`,
			contains: []string{`# Builds things.`, `# Twice.`, `address = "${var.registry_host}:5000"`, `image    = "app"`},
		},
		{
			name: "docker_image placeholder without an earlier image; numeric timeout",
			yaml: `
steps:
  - name: Deploy
    type: k8s_deploy
    k8s_resource_name: web
    k8s_config: {timeout: 90, deployment_spec: {image: "{{docker_image}}"}}
`,
			contains: []string{`image   = var.docker_image`, `timeout = "90s"`, `variable "docker_image" {`},
			warnings: []string{`{{docker_image}} has no earlier docker_push or docker_build to take the image from`},
		},
		{
			name: "unknown step types are reported and dropped",
			yaml: `
steps:
  - {name: Play, type: ftp_upload, host: example.com}
  - {name: Echo, type: exec, command: [echo, hi]}
`,
			contains: []string{`exec "echo" {`},
			warnings: []string{`t.yaml:3: step "Play": step type "ftp_upload" has no ansflow equivalent`},
		},
		{
			name: "a list of object conditions",
			yaml: `
steps:
  - name: Deploy
    step_type: script
    command: ./deploy.sh
    conditions:
      - {branch: main}
      - {environment: {region: eu}}
`,
			contains: []string{`when    = git.branch == "main" && var.region == "eu"`, `command = ["sh", "-c", "./deploy.sh"]`},
			warnings: []string{`t.yaml:8: step "Deploy": condition on environment region`},
		},
		{
			name: "docker_config given as a JSON string",
			yaml: `
steps:
  - name: Build
    type: docker_build
    docker_image: app
    docker_config: '{"dockerfile": "build/Dockerfile", "bogus": true}'
`,
			contains: []string{`dockerfile = "build/Dockerfile"`},
			warnings: []string{`docker_config.bogus is not supported; dropped`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := Convert([]byte(tt.yaml), "t.yaml")
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			mustPlan(t, mustLoad(t, got))
			lines := map[string]bool{}
			for _, l := range strings.Split(string(got), "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, want := range tt.contains {
				if !lines[want] {
					t.Errorf("result has no line %q:\n%s", want, got)
				}
			}
			if len(warnings) != len(tt.warnings) {
				t.Errorf("got %d warnings, want %d:\n%s", len(warnings), len(tt.warnings), warningText(warnings))
			}
			for i, want := range tt.warnings {
				if i < len(warnings) && !strings.Contains(warnings[i].String(), want) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], want)
				}
			}
		})
	}
}

func warningText(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.String() + "\n")
	}
	return b.String()
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"invalid YAML", "steps:\n  - name: a\n    type: 'exec\n", "t.yaml:3: invalid YAML: found unexpected end of stream"},
		{"empty", "", "t.yaml: the file is empty"},
		{"not a pipeline", "just text\n", "t.yaml:1: expected a pipeline mapping (with steps), a {pipeline: ...} wrapper or a list of steps"},
		{"list of non-steps", "- a\n- b\n", "t.yaml:1: step 1 is not a mapping"},
		{"invalid JSON", "{\n  \"steps\": [\n    {\"name\": \"a\",}\n  ]\n}\n", "t.yaml:3: invalid JSON at column 18: invalid character '}'"},
		{"no steps", "pipeline:\n  name: x\n", "t.yaml:1: expected steps: a list of steps"},
		{"step without type", "steps:\n  - name: a\n", `t.yaml:2: step "a" has no type; set step_type (or type) to one of ansible, build`},
		{"step not a mapping", "steps:\n  - a\n", "t.yaml:2: step 1 is not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Convert([]byte(tt.yaml), "t.yaml")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Convert error = %v, want an *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		line      string
		want      []string
		wantShell bool
		wantErr   bool
	}{
		{line: "npm test", want: []string{"npm", "test"}},
		{line: "  python -m   pytest\ttests/ ", want: []string{"python", "-m", "pytest", "tests/"}},
		{line: `echo 'a  b' "c \"d\"" e\ f`, want: []string{"echo", "a  b", `c "d"`, "e f"}},
		{line: `echo ""`, want: []string{"echo", ""}},
		{line: "echo {{build_number}}", want: []string{"echo", "{{build_number}}"}},
		{line: "make && make install", want: []string{"make", "&&", "make", "install"}, wantShell: true},
		{line: `echo "$HOME"`, want: []string{"echo", "$HOME"}, wantShell: true},
		{line: "ls *.go", want: []string{"ls", "*.go"}, wantShell: true},
		{line: "echo 'oops", wantShell: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, shell, err := splitCommand(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if shell != tt.wantShell {
				t.Errorf("needsShell = %v, want %v", shell, tt.wantShell)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLabelFor(t *testing.T) {
	taken := map[string]bool{}
	tests := []struct {
		name string
		want string
	}{
		{"Build Application Image", "build_application_image"},
		{"Build application image!", "build_application_image_2"},
		{"deployToK8s", "deploy_to_k8s"},
		{"2nd pass", "step_2nd_pass"},
		{"构建镜像", "step_5"},
		{"HTTPServer v2", "httpserver_v2"},
	}
	for i, tt := range tests {
		if got := labelFor(tt.name, i+1, taken); got != tt.want {
			t.Errorf("labelFor(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestConvertEnvironmentVars(t *testing.T) {
	got, warnings, err := Convert([]byte(`[
  {"name": "Unit", "step_type": "exec", "command": "make test", "environment_vars": {"CI": "true"}},
  {"name": "Run", "step_type": "docker_run", "docker_image": "alpine", "environment_vars": {"A": "1"},
   "docker_config": {"environment": {"B": "2"}}}
]`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	mustPlan(t, mustLoad(t, got))
	if !strings.Contains(string(got), "CI = \"true\"") || !strings.Contains(string(got), "B = \"2\"") || strings.Contains(string(got), "A = \"1\"") {
		t.Errorf("env not converted as expected:\n%s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].String(), `t.json:3: step "Run": environment_vars is ignored because the step's own environment is set`) {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestConvertDependencyCycles(t *testing.T) {
	got, warnings, err := Convert([]byte(`[
  {"id": 1, "name": "A", "step_type": "script", "order": 1, "command": "a", "dependencies": [2]},
  {"id": 2, "name": "B", "step_type": "script", "order": 2, "command": "b", "dependencies": ["A"]},
  {"id": 3, "name": "C", "step_type": "script", "order": 3, "command": "c", "dependencies": [9]}
]`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	mustPlan(t, mustLoad(t, got))
	want := []string{
		`t.json:3: step "B": dependencies names "A", which already depends on this step; dropped, since it would make a cycle`,
		`t.json:4: step "C": dependencies names "9", which is no step of this pipeline`,
	}
	if len(warnings) != len(want) {
		t.Fatalf("warnings:\n%s", warningText(warnings))
	}
	for i, w := range want {
		if !strings.HasPrefix(warnings[i].String(), w) {
			t.Errorf("warning %d = %q, want %q", i, warnings[i], w)
		}
	}
}

func TestConvertCredentialsInURL(t *testing.T) {
	got, warnings, err := Convert([]byte(`[{"name": "Migrate", "step_type": "script", "command": "make migrate",
  "environment_vars": {"DATABASE_URL": "postgres://app:pa55@db:5432/app", "HOME_URL": "https://example.com/x"}}]`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	mustPlan(t, mustLoad(t, got))
	if strings.Contains(string(got), "pa55") || !strings.Contains(string(got), "DATABASE_URL = var.migrate_database_url") || !strings.Contains(string(got), `"https://example.com/x"`) {
		t.Errorf("credentials in a URL must become a sensitive variable, other URLs stay:\n%s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].String(), "DATABASE_URL is a secret") {
		t.Errorf("warnings = %v", warnings)
	}
}
