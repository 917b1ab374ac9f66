package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/ansflow/ansflow/state"
	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

// TestConvertGolden converts every AnsFlow pipeline in testdata (other than
// the seed, see TestConvertSeed) in each of its shapes: the HCL and the
// warnings must match the golden files NAME.hcl and NAME.warnings, and the
// result must validate and plan. Pipelines with a Helm deploy are converted
// twice: NAME.hcl with the exec fallback, NAME.helm_release.hcl with
// helm_release steps (validated when this build has that step type).
func TestConvertGolden(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	yamls, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, in := range append(inputs, yamls...) {
		if filepath.Base(in) == "seed.yaml" {
			continue
		}
		base := strings.TrimSuffix(in, filepath.Ext(in))
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, warnings, err := ConvertWith(src, filepath.ToSlash(in), Options{})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			checkGolden(t, base+".hcl", got)
			checkGolden(t, base+".warnings", []byte(warningText(warnings)))
			mustPlan(t, mustLoad(t, got))
			if !strings.Contains(string(src), "chart_name") {
				return
			}
			helm, _, err := ConvertWith(src, filepath.ToSlash(in), Options{HelmRelease: true})
			if err != nil {
				t.Fatalf("Convert with helm_release: %v", err)
			}
			checkGolden(t, base+".helm_release.hcl", helm)
			if builtin.Schemas().Lookup("helm_release") != nil {
				mustPlan(t, mustLoad(t, helm))
			}
		})
	}
}

func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./convert -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; run go test ./convert -update to accept):\n%s", golden, diff)
	}
}

// planStub stands in for every provider: planning a fresh state asks
// providers only for fingerprints.
type planStub struct{}

func (planStub) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}
func (planStub) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}
func (planStub) Apply(context.Context, providers.ApplyRequest) (providers.ApplyResponse, error) {
	return providers.ApplyResponse{}, nil
}
func (planStub) Delete(context.Context, providers.DeleteRequest) error { return nil }

// mustPlan plans p against an empty state, giving every variable without
// a default a value of its type, and checks that every step is planned.
func mustPlan(t *testing.T, p *config.Pipeline) {
	t.Helper()
	var args []config.VarArg
	for name, v := range p.Variables {
		if v.HasDefault {
			continue
		}
		val := "x"
		switch {
		case v.Type == cty.Number:
			val = "1"
		case v.Type.IsListType():
			val = `["x"]`
		}
		args = append(args, config.VarArg{Name: name, Value: val})
	}
	vars, diags := p.ResolveVariables(config.VarInputs{Args: args})
	if diags.HasErrors() {
		t.Fatalf("variables: %s", diags.Error())
	}
	reg := providers.Registry{}
	for _, typ := range builtin.Schemas().Names() {
		reg[typ] = planStub{}
	}
	e := &engine.Engine{Dir: p.Dir, Workspace: "default", Providers: reg, Git: &config.GitInfo{Branch: "main"}}
	plan, diags := e.Plan(context.Background(), p, state.New("default"), vars, engine.Options{})
	if diags.HasErrors() {
		t.Fatalf("the converted pipeline does not plan: %s", diags.Error())
	}
	if len(plan.Changes) != len(p.Steps) {
		t.Errorf("plan has %d changes for %d steps", len(plan.Changes), len(p.Steps))
	}
}
