package engine

import (
	"encoding/json"
	"fmt"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// SensitiveOutput returns the value of a sensitive output of the last apply.
// The state keeps only a hash of it (secrets are never stored), so the
// output is evaluated again from the configuration, vars and the recorded
// step values, and returned only when its hash is the recorded one: a value
// computed from other inputs than the apply's is refused, never shown as if
// it were the applied one.
func (e *Engine) SensitiveOutput(p *config.Pipeline, st *state.State, vars map[string]cty.Value, name string) (cty.Value, hcl.Diagnostics) {
	rec, ok := st.Outputs[name]
	if !ok || !rec.Sensitive {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No sensitive output " + name,
			Detail: "The state records no sensitive output of that name."}}
	}
	w, diags := e.buildWorld(p, st, buildOptions{vars: vars, run: config.RunInfo{Number: st.RunNumber, ID: lastRunID(st)}})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	for _, in := range w.nodes {
		if in.info == nil || in.prior == nil {
			continue
		}
		schema, prior := in.info.step.Schema, in.prior
		in.setValue(func() cty.Value {
			return stepValue(schema, inputsFromJSON(prior.Inputs), outputsFromJSON(prior.Outputs, schema.OutputType()), false)
		})
	}
	vals, odiags := w.scope.EvalOutputs(w.allValues())
	v, ok := vals[name]
	if !ok || odiags.HasErrors() {
		return cty.NilVal, append(diags, odiags...)
	}
	u := unmarked(v)
	var stored string
	_ = json.Unmarshal(rec.Value, &stored)
	if !u.IsWhollyKnown() || sensitiveHash(u) != stored {
		return cty.NilVal, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: fmt.Sprintf("Cannot show the sensitive output %q", name),
			Detail: "The state keeps only a hash of a sensitive value, so it is computed again from the pipeline's " +
				"inputs; with the current ones it differs from what the last apply recorded. Give the same variable values " +
				"as that apply (-var, -var-file, ANSFLOW_VAR_*), or apply again.",
		})
	}
	return u, diags
}

func lastRunID(st *state.State) string {
	for i := len(st.Runs) - 1; i >= 0; i-- {
		if st.Runs[i].Number == st.RunNumber {
			return st.Runs[i].ID
		}
	}
	return ""
}
