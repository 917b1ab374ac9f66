package views

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ansflow/ansflow/engine"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr(s string) *string { return &s }

// samplePlan has one step of every kind the renderer distinguishes.
func samplePlan() *engine.Plan {
	return &engine.Plan{
		FormatVersion: engine.PlanFormatVersion,
		Workspace:     "default",
		RunNumber:     7,
		Changes: []*engine.Change{
			{Addr: "exec.compile", Step: "exec.compile", Type: "exec", Action: engine.NoOp, Reasons: []string{"inputs unchanged"}},
			{Addr: "docker_build.app", Step: "docker_build.app", Type: "docker_build", Action: engine.Create, Declarative: true,
				Reasons: []string{"it is not in the state"},
				Attrs: []engine.AttrChange{
					{Path: "image", After: ptr(`"my-app"`)},
					{Path: "tag", After: ptr(`"42"`)},
					{Path: "build_args.VERSION", After: ptr(`"42"`)},
					{Path: "image_id", After: ptr("(known after apply)"), Unknown: true},
				}},
			{Addr: "k8s_deploy.app", Step: "k8s_deploy.app", Type: "k8s_deploy", Action: engine.Update, Declarative: true,
				Reasons: []string{"replicas changed"},
				Attrs: []engine.AttrChange{
					{Path: "replicas", Before: ptr("2"), After: ptr("5")},
					{Path: "env.VERSION", Before: ptr(`"41"`), After: ptr(`"42"`)},
					{Path: "image", Before: ptr(`"my-app:41"`), After: ptr(`"my-app:41"`), Drift: true},
				}},
			{Addr: "docker_push.app", Step: "docker_push.app", Type: "docker_push", Action: engine.Replace, Declarative: true,
				Reasons: []string{"repository changed"},
				Attrs: []engine.AttrChange{
					{Path: "repository", Before: ptr(`"old/app"`), After: ptr(`"new/app"`), ForceNew: true},
					{Path: "registry.password", Before: ptr("(sensitive value)"), After: ptr("(sensitive value)"), Sensitive: true},
				}},
			{Addr: "docker_pull.old", Step: "docker_pull.old", Type: "docker_pull", Action: engine.Delete, Declarative: true,
				Reasons: []string{"its block was removed from the pipeline"},
				Attrs: []engine.AttrChange{
					{Path: "image", Before: ptr(`"busybox:1"`)},
				}},
			{Addr: "exec.forgotten", Step: "exec.forgotten", Type: "exec", Action: engine.Delete,
				Reasons: []string{"its block was removed from the pipeline"}},
			{Addr: "docker_run.unit_tests", Step: "docker_run.unit_tests", Type: "docker_run", Action: engine.Run,
				Reasons: []string{"docker_build.app.image_id changed"},
				Attrs: []engine.AttrChange{
					{Path: "image", Before: ptr(`"my-app:41"`), After: ptr("(known after apply)"), Unknown: true},
				}},
			{Addr: `exec.lint["go"]`, Step: "exec.lint", Type: "exec", Action: engine.Run, Key: ptr("go"),
				Reasons: []string{"it failed last time"}},
			{Addr: "k8s_exec.smoke", Step: "k8s_exec.smoke", Type: "k8s_exec", Action: engine.Run,
				Reasons: []string{"upstream k8s_deploy.app will update"}},
			{Addr: "exec.notify", Step: "exec.notify", Type: "exec", Action: engine.NoOp},
			{Addr: "k8s_scale.prod", Step: "k8s_scale.prod", Type: "k8s_scale", Action: engine.Skip, Declarative: true,
				Reasons: []string{"when is false"}},
		},
	}
}

func upToDatePlan() *engine.Plan {
	return &engine.Plan{FormatVersion: engine.PlanFormatVersion, Workspace: "staging", RunNumber: 3, Changes: []*engine.Change{
		{Addr: "exec.a", Action: engine.NoOp},
		{Addr: "exec.b", Action: engine.Skip, Reasons: []string{"when is false"}},
	}}
}

// movedPlan only renames: two records follow moved blocks.
func movedPlan() *engine.Plan {
	p := upToDatePlan()
	p.Moves = []engine.Move{{From: "exec.old", To: "exec.a"}, {From: `exec.x["a"]`, To: `module.api.exec.x["b"]`}}
	return p
}

// movedAndChangedPlan renames a record and changes steps.
func movedAndChangedPlan() *engine.Plan {
	p := samplePlan()
	p.Moves = []engine.Move{{From: "exec.build", To: "exec.compile"}, {From: "k8s_deploy.web", To: "k8s_deploy.app"}}
	p.Change("k8s_deploy.app").MovedFrom = "k8s_deploy.web"
	return p
}

// golden compares got with testdata/NAME.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from %s (-want +got; go test ./views -update rewrites it):\n%s", name, path, diff)
	}
}

func TestRenderPlanGolden(t *testing.T) {
	tests := []struct {
		name string
		plan *engine.Plan
		opts PlanOptions
	}{
		{"plan", samplePlan(), PlanOptions{}},
		{"plan_verbose", samplePlan(), PlanOptions{Verbose: true}},
		{"plan_color", samplePlan(), PlanOptions{Style: Style{Color: true}}},
		{"plan_no_changes", upToDatePlan(), PlanOptions{}},
		{"plan_no_changes_verbose", upToDatePlan(), PlanOptions{Verbose: true}},
		{"plan_moved", movedPlan(), PlanOptions{}},
		{"plan_moved_and_changed", movedAndChangedPlan(), PlanOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			RenderPlan(&buf, tt.plan, tt.opts)
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestSummaryLine(t *testing.T) {
	got := SummaryLine(samplePlan())
	want := "Plan: 2 to create, 1 to update, 3 to destroy, 3 to run, 2 up to date, 1 skipped."
	if got != want {
		t.Errorf("SummaryLine = %q, want %q", got, want)
	}
}

func TestAttrLine(t *testing.T) {
	tests := []struct {
		name   string
		attr   engine.AttrChange
		action engine.Action
		want   string
	}{
		{"update", engine.AttrChange{Path: "replicas", Before: ptr("2"), After: ptr("5")}, engine.Update, "~ replicas = 2 -> 5"},
		{"add", engine.AttrChange{Path: "tag", After: ptr(`"1"`)}, engine.Create, `+ tag = "1"`},
		{"remove", engine.AttrChange{Path: "tag", Before: ptr(`"1"`)}, engine.Update, `- tag = "1" -> null`},
		{"unknown", engine.AttrChange{Path: "image", Before: ptr(`"a"`), Unknown: true}, engine.Run, `~ image = "a" -> (known after apply)`},
		{"sensitive raw values hidden", engine.AttrChange{Path: "password", Before: ptr("hunter2"), After: ptr("hunter3"), Sensitive: true}, engine.Update, "~ password = (sensitive value)"},
		{"force new", engine.AttrChange{Path: "repository", Before: ptr("a"), After: ptr("b"), ForceNew: true}, engine.Replace, "~ repository = a -> b # forces replacement"},
		{"drift", engine.AttrChange{Path: "replicas", Before: ptr("3"), After: ptr("3"), Drift: true}, engine.Update, "~ replicas = 3 # changed outside ansflow"},
		{"removed object", engine.AttrChange{Path: "deployment/old", Before: ptr("no longer in the manifest"), Removed: true}, engine.Update, "- deployment/old (no longer in the manifest)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := attrLine(tt.attr, tt.action, len(tt.attr.Path), Style{})
			if got != tt.want {
				t.Errorf("attrLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderMarkdownGolden(t *testing.T) {
	tests := []struct {
		name string
		plan *engine.Plan
	}{
		{"plan_markdown", samplePlan()},
		{"plan_markdown_no_changes", upToDatePlan()},
		{"plan_markdown_moved", movedPlan()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			RenderMarkdown(&buf, tt.plan)
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ got, want string }{
		{codeSpan(`exec.a["x|y"]`), "`exec.a[\"x\\|y\"]`"},
		{codeSpan("a`b"), "``a`b``"},
		{tableCell("a | b\n<c> & d"), `a \| b<br>&lt;c&gt; &amp; d`},
		{codeFence("x ```` y"), "`````"},
		{codeFence("plain"), "```"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
