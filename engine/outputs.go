package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// SensitiveOutput returns the value of a sensitive output of the last apply.
// The state keeps only a hash of it (secrets are never stored), so the
// output is evaluated again from the configuration, vars and the recorded
// step values, and returned only when its hash is the recorded one: a value
// computed from other inputs than the apply's is refused, never shown as if
// it were the applied one.
func (e *Engine) SensitiveOutput(ctx context.Context, p *config.Pipeline, st *state.State, vars map[string]cty.Value, name string) (cty.Value, hcl.Diagnostics) {
	rec, ok := st.Outputs[name]
	if !ok || !rec.Sensitive {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No sensitive output " + name,
			Detail: "The state records no sensitive output of that name."}}
	}
	key, diags := e.hashKey(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	w, diags := e.buildWorld(p, st, buildOptions{key: key, vars: vars, run: config.RunInfo{Number: st.RunNumber, ID: lastRunID(st)}})
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
	vals, odiags := w.scope.EvalOutputs(w.outputValues())
	v, ok := vals[name]
	if !ok || odiags.HasErrors() {
		return cty.NilVal, append(diags, odiags...)
	}
	u := unmarked(v)
	var stored string
	_ = json.Unmarshal(rec.Value, &stored)
	if !u.IsWhollyKnown() || sensitiveHash(key, u) != stored {
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

// OutputChange is how an apply of the plan would change one pipeline
// output. Values are in display form (JSON, "(known after apply)",
// "(sensitive value)"); Before is nil for a new output, After for a removed one.
type OutputChange struct {
	Name      string  `json:"name"`
	Action    Action  `json:"action"` // create, update or delete
	Before    *string `json:"before,omitempty"`
	After     *string `json:"after,omitempty"`
	Sensitive bool    `json:"sensitive,omitempty"`
}

// outputChanges compares the outputs a plan evaluated (vals; unknown where
// they depend on what will change) with those the state recorded.
func outputChanges(p *config.Pipeline, st *state.State, vals map[string]cty.Value, destroy bool, key []byte) []OutputChange {
	var out []OutputChange
	names := make([]string, 0, len(st.Outputs)+len(vals))
	for n := range st.Outputs {
		names = append(names, n)
	}
	for n := range vals {
		if _, ok := st.Outputs[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		rec, had := st.Outputs[name]
		v, has := vals[name]
		if destroy {
			has = false
		}
		sensitive := rec.Sensitive || has && (config.HasSensitive(v) || p.Outputs[name] != nil && p.Outputs[name].Sensitive)
		ch := OutputChange{Name: name, Sensitive: sensitive}
		if had {
			before := string(rec.Value)
			if rec.Sensitive {
				before = redacted
			}
			ch.Before = &before
		}
		if has {
			after, same := outputAfter(v, rec, had, sensitive, key)
			if same {
				continue
			}
			ch.After = &after
		}
		switch {
		case !had:
			ch.Action = Create
		case !has:
			ch.Action = Delete
		default:
			ch.Action = Update
		}
		out = append(out, ch)
	}
	return out
}

// outputAfter is the display form of a planned output value and whether it
// equals the recorded one.
func outputAfter(v cty.Value, rec state.Output, had, sensitive bool, key []byte) (string, bool) {
	u := unmarked(v)
	if !u.IsWhollyKnown() {
		return knownAfterApply, false
	}
	if sensitive {
		var stored string
		_ = json.Unmarshal(rec.Value, &stored)
		return redacted, had && sensitiveHash(key, u) == stored
	}
	b, err := ctyjson.Marshal(u, u.Type())
	if err != nil {
		return knownAfterApply, false
	}
	return string(b), had && bytes.Equal(b, rec.Value)
}
