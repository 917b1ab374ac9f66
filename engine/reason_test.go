package engine_test

import (
	"testing"

	"github.com/ansflow/ansflow/engine"
	"github.com/google/go-cmp/cmp"
)

const reasonsPipeline = `
variable "v" {
  default = "1"
}
exec "many" {
  for_each = toset(["a", "b", "c", "d", "e"])
  command  = ["echo", each.key, var.v]
}
exec "after" {
  command = ["echo", join(",", keys(exec.many))]
}
k8s_deploy "app" {
  name  = "app"
  image = "img:${var.v}"
}
`

// TestPlanReasonCodes checks the reasons the planner gives as data: codes
// and their parameters, for the plans a pipeline goes through.
func TestPlanReasonCodes(t *testing.T) {
	h := newHarness(t)
	h.write(reasonsPipeline)
	first := h.plan(engine.Options{})
	h.apply(engine.Options{})
	cases := []struct {
		name string
		plan func() *engine.Plan
		addr string
		want []engine.Reason
	}{
		{"a new run step", func() *engine.Plan { return first }, "exec.after", []engine.Reason{{Code: engine.ReasonNeverRan}}},
		{"a new object", func() *engine.Plan { return first }, "k8s_deploy.app", []engine.Reason{{Code: engine.ReasonNew}}},
		{"a changed variable", func() *engine.Plan { return h.plan(engine.Options{}, "v=2") }, "k8s_deploy.app", []engine.Reason{{
			Code: engine.ReasonAttrsChanged, Attrs: []string{"image"},
			Causes: []engine.Cause{{Ref: "var.v", Before: `"1"`, After: "2"}}, // an untyped -var reads as a number
		}}},
		{"five upstream instances run", func() *engine.Plan { return h.plan(engine.Options{}, "v=2") }, "exec.after", []engine.Reason{{
			Code: engine.ReasonUpstreamChanged, MoreUpstream: 2, Upstream: []engine.Upstream{
				{Addr: `exec.many["a"]`, Action: engine.Run}, {Addr: `exec.many["b"]`, Action: engine.Run}, {Addr: `exec.many["c"]`, Action: engine.Run},
			},
		}}},
		{"left out by -target", func() *engine.Plan { return h.plan(engine.Options{Targets: []string{"k8s_deploy.app"}}) }, "exec.after",
			[]engine.Reason{{Code: engine.ReasonNotTargeted}}},
		{"replace requested", func() *engine.Plan { return h.plan(engine.Options{Replace: []string{"k8s_deploy.app"}}) }, "k8s_deploy.app",
			[]engine.Reason{{Code: engine.ReasonReplaceRequested}}},
		{"destroy of a run step", func() *engine.Plan { return h.plan(engine.Options{Destroy: true}) }, "exec.after",
			[]engine.Reason{{Code: engine.ReasonDestroy}, {Code: engine.ReasonRecordOnly}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.plan().Change(tc.addr)
			if c == nil {
				t.Fatalf("%s is not in the plan", tc.addr)
			}
			if diff := cmp.Diff(tc.want, c.Why); diff != "" {
				t.Errorf("%s: reasons (-want +got):\n%s", tc.addr, diff)
			}
			if c.Reasons != nil {
				t.Errorf("%s: the engine wrote reason text %q; views make it", tc.addr, c.Reasons)
			}
		})
	}
}
