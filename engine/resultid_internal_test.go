package engine

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/config"
)

// TestResultID checks that the id of a step's result is picked from the
// outputs its schema names, in their order, whatever the type is called.
func TestResultID(t *testing.T) {
	schema := &config.StepSchema{Type: "frob_widget", ResultIDs: []config.ResultID{{Output: "code", Prefix: "code="}, {Output: "digest"}}}
	out := func(code, digest cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"code": code, "digest": digest, "uid": cty.StringVal("not-named")})
	}
	noCode, noDigest := cty.NullVal(cty.Number), cty.NullVal(cty.String)
	cases := []struct {
		name    string
		schema  *config.StepSchema
		outputs cty.Value
		want    string
	}{
		{"first set wins", schema, out(cty.NumberIntVal(3), cty.StringVal("sha256:0123456789abcdef0123")), "code=3"},
		{"next when the first is null", schema, out(noCode, cty.StringVal("sha256:0123456789abcdef0123")), "sha256:0123456789ab"},
		{"none set", schema, out(noCode, noDigest), ""},
		{"no schema", nil, out(cty.NumberIntVal(3), noDigest), ""},
		{"no outputs", schema, cty.NilVal, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := resultID(c.schema, c.outputs); got != c.want {
				t.Errorf("resultID = %q, want %q", got, c.want)
			}
		})
	}
}

// TestCollectSensitive checks that a connection block's secrets are found
// by their Sensitive mark, not by attribute name.
func TestCollectSensitive(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"address":  cty.StringVal("127.0.0.1:5001"),
		"username": cty.StringVal("ci"),
		"token":    cty.StringVal("s3cret-token").Mark(config.Sensitive),
		"password": cty.NullVal(cty.String).Mark(config.Sensitive),
	})
	var got []string
	collectSensitive(v, &got)
	if len(got) != 1 || got[0] != "s3cret-token" {
		t.Errorf("collectSensitive = %q, want [s3cret-token]", got)
	}
}
