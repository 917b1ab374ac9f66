package config

import "testing"

func TestParseInstanceAddr(t *testing.T) {
	for _, tc := range []struct {
		in, step, key string
		keyed, ok     bool
	}{
		{in: "exec.build", step: "exec.build", ok: true},
		{in: `exec.build["a b"]`, step: "exec.build", key: "a b", keyed: true, ok: true},
		{in: "k8s_deploy.app", step: "k8s_deploy.app", ok: true},
		{in: "exec.lint["},
		{in: "exec.Bad-Name!!"},
		{in: "exec"},
		{in: ""},
		{in: "exec.a.b"},
		{in: "exec.a[1]"},
		{in: "exec[\"x\"]"},
	} {
		step, key, err := ParseInstanceAddr(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err = %v, want ok = %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (step != tc.step || key.Key != tc.key || key.Valid != tc.keyed) {
			t.Errorf("%q: got %s %+v, want %s %q", tc.in, step, key, tc.step, tc.key)
		}
	}
}
