package config

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSmoke(t *testing.T) {
	p, diags := Load("testdata/good/seed")
	for _, d := range diags {
		t.Errorf("%s", d)
	}
	s, diags := NewScope(p, ScopeOptions{Vars: map[string]cty.Value{"build_number": cty.StringVal("7"), "registry_password": cty.StringVal("pw").Mark(Sensitive)}})
	for _, d := range diags {
		t.Errorf("%s", d)
	}
	sv := StepValues{}
	for _, st := range p.StepOrder {
		if sv[st.Type] == nil {
			sv[st.Type] = map[string]cty.Value{}
		}
		sv[st.Type][st.Name] = cty.DynamicVal
	}
	for _, st := range p.StepOrder {
		in, m, diags := s.EvalStep(st, NoKey, sv)
		for _, d := range diags {
			t.Errorf("%s", d)
		}
		t.Logf("%s %#v %+v refs=%v", st.Addr(), in, m, st.Refs)
	}
}
