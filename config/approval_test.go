package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApprovalMeta(t *testing.T) {
	p := mustLoad(t, writePipeline(t, map[string]string{"main.hcl": `
variable "approvers" {
  type    = list(string)
  default = ["alice", "bob"]
}

exec "deploy" {
  command = ["true"]
  approval {
    approvers = var.approvers
    timeout   = "24h"
  }
}

exec "anyone" {
  command = ["true"]
  approval {}
}

exec "plain" {
  command = ["true"]
}
`}))
	vars, diags := p.ResolveVariables(VarInputs{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	s := mustScope(t, p, ScopeOptions{Vars: vars})
	for addr, want := range map[string]*ApprovalPolicy{
		"exec.deploy": {Approvers: []string{"alice", "bob"}, Timeout: 24 * time.Hour},
		"exec.anyone": {},
		"exec.plain":  nil,
	} {
		_, meta, diags := s.EvalStep(p.Steps[addr], NoKey, nil)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", addr, diags.Error())
		}
		if diff := cmp.Diff(want, meta.Approval); diff != "" {
			t.Errorf("%s approval (-want +got):\n%s", addr, diff)
		}
	}
}
