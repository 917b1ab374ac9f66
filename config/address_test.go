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

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in          string
		allowModule bool
		want        string // canonical form; "" for an error
		module      string
	}{
		{in: "exec.build", want: "exec.build"},
		{in: `module.api.docker_build.app`, want: "module.api.docker_build.app", module: "module.api"},
		{in: `module.svc["api"].exec.test["x"]`, want: `module.svc["api"].exec.test["x"]`, module: `module.svc["api"]`},
		{in: `module.a.module.b["k"].exec.x`, want: `module.a.module.b["k"].exec.x`, module: `module.a.module.b["k"]`},
		{in: "module.api", allowModule: true, want: "module.api", module: "module.api"},
		{in: `module.svc["api"]`, allowModule: true, want: `module.svc["api"]`, module: `module.svc["api"]`},
		{in: "module.api"},
		{in: "module", allowModule: true},
		{in: "module.api.exec", allowModule: true},
		{in: `module.api["a"]["b"].exec.x`},
		{in: "module.api.exec.x.y"},
	} {
		a, err := ParseAddr(tc.in, tc.allowModule)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: parsed as %s, want an error", tc.in, a)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if a.String() != tc.want || a.ModulePath() != tc.module {
			t.Errorf("%q: got %s (module %q), want %s (module %q)", tc.in, a, a.ModulePath(), tc.want, tc.module)
		}
	}
}
