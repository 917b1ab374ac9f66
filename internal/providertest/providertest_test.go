package providertest

import (
	"context"
	"io"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers"
	"github.com/zclconf/go-cty/cty"
)

func inputs(t *testing.T, attrs map[string]cty.Value) cty.Value {
	t.Helper()
	s := Schemas().Lookup(RunType)
	vals := map[string]cty.Value{}
	for _, a := range s.Inputs {
		vals[a.Name] = cty.NullVal(a.Type)
		if v, ok := attrs[a.Name]; ok {
			vals[a.Name] = v
		}
	}
	return cty.ObjectVal(vals)
}

func TestSchemas(t *testing.T) {
	for typ, kind := range map[string]config.StepKind{ObjectType: config.Declarative, RunType: config.RunToCompletion} {
		s := Schemas().Lookup(typ)
		if s == nil || s.Kind != kind || s.Input("fail_times") == nil || s.Output("exit_code") == nil {
			t.Errorf("%s: schema %+v", typ, s)
		}
	}
}

func TestFake(t *testing.T) {
	logs := providers.Logs{Stdout: io.Discard, Stderr: io.Discard}
	cases := []struct {
		name  string
		attrs map[string]cty.Value
		ctx   func() context.Context
		errs  []bool // whether each successive Apply fails
	}{
		{"succeeds", nil, context.Background, []bool{false, false}},
		{"fails twice", map[string]cty.Value{"fail_times": cty.NumberIntVal(2)}, context.Background, []bool{true, true, false}},
		{"sleep ends with its context", map[string]cty.Value{"sleep": cty.StringVal("1h")}, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := New()
			for i, wantErr := range c.errs {
				_, err := f.Apply(c.ctx(), providers.ApplyRequest{Addr: "test_run.x", Inputs: inputs(t, c.attrs), Logs: logs})
				if (err != nil) != wantErr {
					t.Errorf("apply %d: err %v, want error %v", i+1, err, wantErr)
				}
			}
		})
	}
}

func TestDeleteAndPanic(t *testing.T) {
	f := New()
	err := f.Delete(context.Background(), providers.DeleteRequest{Addr: "test_object.x",
		Prior: providers.Prior{Inputs: inputs(t, map[string]cty.Value{"fail_delete": cty.True, "message": cty.StringVal("no")})}})
	if err == nil || err.Error() != "no" {
		t.Errorf("delete: %v", err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("Validate did not panic")
		}
	}()
	_ = f.Validate(inputs(t, map[string]cty.Value{"panic": cty.StringVal("Validate")}))
}
