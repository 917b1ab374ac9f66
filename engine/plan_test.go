package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/exec"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/views"
	"github.com/zclconf/go-cty/cty"
)

// fakeObjects is a declarative provider that keeps its objects in memory, so
// plan classification can be tested without Docker or Kubernetes. It serves
// the k8s_deploy schema (name and namespace force replacement).
type fakeObjects struct {
	mu      sync.Mutex
	objects map[string]cty.Value // by addr: the applied inputs
	drift   map[string]providers.Drift
	applied []string
}

func newFake() *fakeObjects {
	return &fakeObjects{objects: map[string]cty.Value{}, drift: map[string]providers.Drift{}}
}

func (f *fakeObjects) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (f *fakeObjects) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objects[req.Addr]; !ok {
		return providers.ReadResponse{Gone: true}, nil
	}
	resp := providers.ReadResponse{Outputs: req.Prior.Outputs}
	if d, ok := f.drift[req.Addr]; ok {
		resp.Drift = []providers.Drift{d}
	}
	return resp, nil
}

func (f *fakeObjects) Apply(_ context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[req.Addr] = req.Inputs
	f.applied = append(f.applied, req.Addr+":"+req.Action.String())
	name := req.Inputs.GetAttr("name")
	return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"name": name, "namespace": cty.StringVal("default"), "uid": cty.StringVal("uid-" + req.Addr),
		"generation": cty.NumberIntVal(1), "selector": cty.StringVal("app=x"),
	})}, nil
}

func (f *fakeObjects) Delete(_ context.Context, req providers.DeleteRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, req.Addr)
	f.applied = append(f.applied, req.Addr+":delete")
	return nil
}

// harness applies and plans pipelines in a temp dir with a real local store.
type harness struct {
	t    *testing.T
	dir  string
	fake *fakeObjects
	eng  *engine.Engine
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	fake := newFake()
	store := state.NewLocal(filepath.Join(dir, ".ansflow", "state"), "default")
	t.Cleanup(func() { store.Close() })
	return &harness{t: t, dir: dir, fake: fake, eng: &engine.Engine{
		Dir: dir, Workspace: "default", Store: store,
		Providers: providers.Registry{"exec": exec.New(), "k8s_deploy": fake},
		Git:       &config.GitInfo{Branch: "main"},
		Getenv:    func(string) (string, bool) { return "", false },
	}}
}

func (h *harness) write(src string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "main.hcl"), []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) load(vars ...string) (*config.Pipeline, map[string]cty.Value, *state.State) {
	h.t.Helper()
	p, diags := loadPipeline(h.dir)
	if diags.HasErrors() {
		h.t.Fatalf("load: %s", diags.Error())
	}
	var args []config.VarArg
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		args = append(args, config.VarArg{Name: name, Value: value})
	}
	vals, diags := p.ResolveVariables(config.VarInputs{Args: args})
	if diags.HasErrors() {
		h.t.Fatalf("variables: %s", diags.Error())
	}
	st, err := h.eng.Store.Read(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return p, vals, st
}

func (h *harness) plan(o engine.Options, vars ...string) *engine.Plan {
	h.t.Helper()
	p, vals, st := h.load(vars...)
	plan, diags := h.eng.Plan(context.Background(), p, st, vals, o)
	if diags.HasErrors() {
		h.t.Fatalf("plan: %s", diags.Error())
	}
	return plan
}

func (h *harness) apply(o engine.Options, vars ...string) *engine.ApplyResult {
	h.t.Helper()
	p, vals, st := h.load(vars...)
	plan, diags := h.eng.Plan(context.Background(), p, st, vals, o)
	if diags.HasErrors() {
		h.t.Fatalf("plan: %s", diags.Error())
	}
	res, diags := h.eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: p, State: st, Plan: plan, Vars: vals, Parallelism: 4})
	if diags.HasErrors() {
		h.t.Fatalf("apply: %s", diags.Error())
	}
	return res
}

const classifyPipeline = `
variable "msg" {
  default = "one"
}
variable "ns" {
  default = "default"
}
variable "on" {
  type    = bool
  default = true
}
variable "code" {
  type    = number
  default = 0
}

exec "build" {
  command = ["echo", var.msg]
}

exec "test" {
  command = ["sh", "-c", "exit ${var.code}"]
  depends_on = [exec.build]
}

exec "lonely" {
  command = ["true"]
}

exec "maybe" {
  when    = var.on
  command = ["true"]
}

k8s_deploy "app" {
  name      = "app"
  namespace = var.ns
  image     = "img:${var.msg}"
  replicas  = 2
}
`

func TestPlanClassification(t *testing.T) {
	type want struct {
		action engine.Action
		reason string // substring of the joined reasons
	}
	cases := []struct {
		name   string
		setup  func(h *harness)
		vars   []string
		opts   engine.Options
		expect map[string]want
	}{
		{
			name: "empty state: everything is new",
			expect: map[string]want{
				"exec.build":     {engine.Run, "it has not run yet"},
				"exec.test":      {engine.Run, "it has not run yet"},
				"k8s_deploy.app": {engine.Create, "not in the state yet"},
				"exec.maybe":     {engine.Run, ""},
			},
		},
		{
			name:  "nothing changed: all up to date",
			setup: func(h *harness) { h.apply(engine.Options{Refresh: true}) },
			opts:  engine.Options{Refresh: true},
			expect: map[string]want{
				"exec.build":     {engine.NoOp, ""},
				"exec.test":      {engine.NoOp, ""},
				"exec.lonely":    {engine.NoOp, ""},
				"k8s_deploy.app": {engine.NoOp, ""},
			},
		},
		{
			name:  "input changed: the step, its dependents and the deployment change",
			setup: func(h *harness) { h.apply(engine.Options{}) },
			vars:  []string{"msg=two"},
			expect: map[string]want{
				"exec.build":     {engine.Run, "command changed"},
				"exec.test":      {engine.Run, "upstream exec.build will run"},
				"exec.lonely":    {engine.NoOp, ""},
				"k8s_deploy.app": {engine.Update, "image changed"},
			},
		},
		{
			name:  "a force-new attribute changed: replace",
			setup: func(h *harness) { h.apply(engine.Options{}) },
			vars:  []string{"ns=other"},
			expect: map[string]want{
				"k8s_deploy.app": {engine.Replace, "namespace cannot be changed in place"},
				"exec.build":     {engine.NoOp, ""},
			},
		},
		{
			name: "deleted outside ansflow: create again",
			setup: func(h *harness) {
				h.apply(engine.Options{})
				delete(h.fake.objects, "k8s_deploy.app")
			},
			opts:   engine.Options{Refresh: true},
			expect: map[string]want{"k8s_deploy.app": {engine.Create, "deleted outside ansflow"}},
		},
		{
			name: "drift: update, naming the field",
			setup: func(h *harness) {
				h.apply(engine.Options{})
				h.fake.drift["k8s_deploy.app"] = providers.Drift{Path: "replicas", Before: "2", After: "5"}
			},
			opts:   engine.Options{Refresh: true},
			expect: map[string]want{"k8s_deploy.app": {engine.Update, "replicas was changed outside ansflow (2 -> 5)"}},
		},
		{
			name: "drift is not seen with -refresh=false",
			setup: func(h *harness) {
				h.apply(engine.Options{})
				h.fake.drift["k8s_deploy.app"] = providers.Drift{Path: "replicas", Before: "2", After: "5"}
			},
			opts:   engine.Options{Refresh: false},
			expect: map[string]want{"k8s_deploy.app": {engine.NoOp, ""}},
		},
		{
			name:  "failed last run: run again",
			setup: func(h *harness) { h.apply(engine.Options{}, "code=1") },
			vars:  []string{"code=1"},
			expect: map[string]want{
				"exec.test":  {engine.Run, "it failed last run (exit code 1)"},
				"exec.build": {engine.NoOp, ""},
			},
		},
		{
			name:  "when is false: skipped",
			setup: func(h *harness) { h.apply(engine.Options{}) },
			vars:  []string{"on=false"},
			expect: map[string]want{
				"exec.maybe": {engine.Skip, "when is false"},
			},
		},
		{
			name:  "-replace forces a run and a replacement",
			setup: func(h *harness) { h.apply(engine.Options{}) },
			opts:  engine.Options{Replace: []string{"exec.lonely", "k8s_deploy.app"}},
			expect: map[string]want{
				"exec.lonely":    {engine.Run, "-replace was requested"},
				"k8s_deploy.app": {engine.Replace, "-replace was requested"},
				"exec.build":     {engine.NoOp, ""},
			},
		},
		{
			name:  "-target limits the plan to the target and its dependencies",
			vars:  []string{"msg=three"},
			opts:  engine.Options{Targets: []string{"exec.test"}},
			setup: func(h *harness) { h.apply(engine.Options{}) },
			expect: map[string]want{
				"exec.test":      {engine.Run, "upstream exec.build"},
				"exec.build":     {engine.Run, "command changed"},
				"k8s_deploy.app": {engine.Skip, "not selected by -target"},
			},
		},
		{
			name:  "destroy deletes everything",
			setup: func(h *harness) { h.apply(engine.Options{}) },
			opts:  engine.Options{Destroy: true},
			expect: map[string]want{
				"k8s_deploy.app": {engine.Delete, "destroy was requested"},
				"exec.build":     {engine.Delete, "only its record is removed"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.write(classifyPipeline)
			if tc.setup != nil {
				tc.setup(h)
			}
			plan := h.plan(tc.opts, tc.vars...)
			for addr, w := range tc.expect {
				c := plan.Change(addr)
				if c == nil {
					t.Errorf("%s: not in the plan", addr)
					continue
				}
				reasons := strings.Join(views.Reasons(c), "; ")
				if c.Action != w.action || !strings.Contains(reasons, w.reason) {
					t.Errorf("%s: got %s (%s), want %s (%q)", addr, c.Action, reasons, w.action, w.reason)
				}
			}
		})
	}
}

func TestRemovedStepIsDeleted(t *testing.T) {
	h := newHarness(t)
	h.write(classifyPipeline)
	h.apply(engine.Options{})
	h.write(strings.Replace(classifyPipeline, "k8s_deploy \"app\"", "k8s_deploy \"renamed\"", 1))
	plan := h.plan(engine.Options{})
	if c := plan.Change("k8s_deploy.app"); c == nil || c.Action != engine.Delete || !strings.Contains(views.Reasons(c)[0], "no longer in the configuration") {
		t.Fatalf("k8s_deploy.app: got %+v, want delete because it is no longer configured", c)
	}
	res := h.apply(engine.Options{})
	if !res.OK() {
		t.Fatalf("apply failed: %+v", res.Failures)
	}
	if _, ok := h.fake.objects["k8s_deploy.app"]; ok {
		t.Error("the removed deployment still exists")
	}
}

func TestUnknownUpstreamTurnsOutUnchanged(t *testing.T) {
	// k8s_deploy depends on a run step's output that is unknown at plan time;
	// when it turns out the same, the deployment is not touched.
	h := newHarness(t)
	h.write(`
variable "v" {
  default = "1"
}
exec "tag" {
  command = ["sh", "-c", "printf stable; : ${var.v}"]
}
k8s_deploy "app" {
  name  = "app"
  image = "img:${exec.tag.stdout}"
}
`)
	h.apply(engine.Options{})
	plan := h.plan(engine.Options{}, "v=2")
	if c := plan.Change("k8s_deploy.app"); c.Action != engine.Update || !strings.Contains(strings.Join(views.Reasons(c), ";"), "known only after apply") {
		t.Fatalf("k8s_deploy.app: got %s %v", c.Action, views.Reasons(c))
	}
	h.fake.applied = nil
	h.apply(engine.Options{}, "v=2")
	for _, a := range h.fake.applied {
		if strings.HasPrefix(a, "k8s_deploy.app") {
			t.Errorf("deployment applied although its inputs did not change: %v", h.fake.applied)
		}
	}
}
