package config

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// annotation is one `# ERROR: summary` comment in a fixture.
type annotation struct {
	file    string // "" for a vars.txt annotation (a command-line value)
	line    int
	summary string
	matched bool
}

// errorComment matches one annotation; a line may hold several.
var errorComment = regexp.MustCompile(`#\s*ERROR:\s*([^#]*[^#\s])`)

// fixture is one bad or good pipeline under testdata.
type fixture struct {
	dir         string // the pipeline directory to load
	annotations []*annotation
	inputs      VarInputs
}

// loadFixture prepares the fixture at path: a single .hcl file (copied as
// main.hcl into a temporary directory, with an optional NAME.vars.txt
// sidecar) or a directory (loaded in place, with an optional vars.txt).
func loadFixture(t *testing.T, path string) *fixture {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	var sidecar, baseDir string
	if fi.IsDir() {
		f.dir, baseDir, sidecar = path, path, filepath.Join(path, "vars.txt")
		// Module directories below the fixture are annotated too.
		err := filepath.WalkDir(path, func(name string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(name, ".hcl") {
				f.annotations = append(f.annotations, readAnnotations(t, name, name)...)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		f.dir = t.TempDir()
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		main := filepath.Join(f.dir, "main.hcl")
		if err := os.WriteFile(main, src, 0o644); err != nil {
			t.Fatal(err)
		}
		f.annotations = readAnnotations(t, path, main)
		baseDir, sidecar = filepath.Dir(path), strings.TrimSuffix(path, ".hcl")+".vars.txt"
	}
	f.readSidecar(t, sidecar, baseDir)
	return f
}

// readAnnotations reads the ERROR comments of file, reported as being in
// the file called as.
func readAnnotations(t *testing.T, file, as string) []*annotation {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []*annotation
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		for _, m := range errorComment.FindAllStringSubmatch(sc.Text(), -1) {
			out = append(out, &annotation{file: as, line: line, summary: m[1]})
		}
	}
	return out
}

// readSidecar reads a vars.txt file: one `-var NAME=VALUE`, `-var-file
// FILE` or `env NAME=VALUE` per line, each optionally annotated.
func (f *fixture) readSidecar(t *testing.T, path, baseDir string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if ms := errorComment.FindAllStringSubmatchIndex(line, -1); ms != nil {
			for _, m := range ms {
				f.annotations = append(f.annotations, &annotation{line: i + 1, summary: line[m[2]:m[3]]})
			}
			line = line[:ms[0][0]]
		}
		line = strings.TrimSpace(line)
		kind, arg, _ := strings.Cut(line, " ")
		switch kind {
		case "":
		case "-var":
			name, value, _ := strings.Cut(arg, "=")
			f.inputs.Args = append(f.inputs.Args, VarArg{Name: name, Value: value})
		case "-var-file":
			f.inputs.Args = append(f.inputs.Args, VarArg{File: filepath.Join(baseDir, arg)})
		case "env":
			f.inputs.Environ = append(f.inputs.Environ, arg)
		default:
			t.Fatalf("%s:%d: unknown sidecar line %q", path, i+1, line)
		}
	}
}

// runPipeline does what plan does with a pipeline, stopping at the first
// phase with errors: load, resolve variables, build the scope, evaluate
// every step instance (with unknown step values) and the outputs.
func runPipeline(dir string, in VarInputs) hcl.Diagnostics {
	p, diags := Load(dir)
	if diags.HasErrors() {
		return diags
	}
	vals, d := p.ResolveVariables(in)
	if diags = append(diags, d...); diags.HasErrors() {
		return diags
	}
	s, d := NewScope(p, ScopeOptions{Vars: vals, Workspace: "default", Getenv: func(string) (string, bool) { return "", false }})
	if diags = append(diags, d...); diags.HasErrors() {
		return diags
	}
	return append(diags, evalFixture(s)...)
}

// evalFixture evaluates every step instance and output of the pipeline or
// module of s, and every instance of the modules it calls.
func evalFixture(s *Scope) hcl.Diagnostics {
	var diags hcl.Diagnostics
	p := s.Pipeline()
	steps := unknownSteps(p)
	for _, st := range p.StepOrder {
		keys, _, d := s.ForEach(st)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if keys == nil {
			_, _, d = s.EvalStep(st, NoKey, steps)
			diags = append(diags, d...)
		}
		for _, k := range keys {
			_, _, d = s.EvalStep(st, StringKey(k), steps)
			diags = append(diags, d...)
		}
	}
	_, d := s.EvalOutputs(steps)
	diags = append(diags, d...)
	for _, call := range p.ModuleOrder {
		keys, _, d := s.ModuleForEach(call)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		instances := []InstanceKey{NoKey}
		if keys != nil {
			instances = instances[:0]
			for _, k := range keys {
				instances = append(instances, StringKey(k))
			}
		}
		for _, k := range instances {
			child, d := s.Module(call, k, steps)
			diags = append(diags, d...)
			if !d.HasErrors() {
				diags = append(diags, evalFixture(child)...)
			}
		}
	}
	return uniqueDiags(diags)
}

// unknownSteps gives every step of p an unknown value, as during a plan.
func unknownSteps(p *Pipeline) StepValues {
	sv := StepValues{}
	for _, st := range p.StepOrder {
		if sv[st.Type] == nil {
			sv[st.Type] = map[string]cty.Value{}
		}
		sv[st.Type][st.Name] = cty.DynamicVal
	}
	for _, call := range p.ModuleOrder {
		if sv[rootModule] == nil {
			sv[rootModule] = map[string]cty.Value{}
		}
		sv[rootModule][call.Name] = cty.DynamicVal
	}
	return sv
}

func fixturePaths(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".hcl") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return paths
}

func TestBadFixtures(t *testing.T) {
	paths := fixturePaths(t, filepath.Join("testdata", "bad"))
	if len(paths) < 45 {
		t.Errorf("only %d bad fixtures; want at least 45", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := loadFixture(t, path)
			if len(f.annotations) == 0 {
				t.Fatalf("fixture has no # ERROR: annotation")
			}
			diags := runPipeline(f.dir, f.inputs)
			checkDiagnostics(t, diags, f.annotations)
		})
	}
}

// checkDiagnostics checks that every diagnostic is well formed and
// annotated, and that every annotation was reported.
func checkDiagnostics(t *testing.T, diags hcl.Diagnostics, anns []*annotation) {
	t.Helper()
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
			t.Errorf("diagnostic without a file:line:col subject: %s", d)
			continue
		}
		if d.Summary == "" || d.Detail == "" || strings.Contains(d.Detail, "%!") {
			t.Errorf("diagnostic with a bad summary or detail: %q / %q", d.Summary, d.Detail)
		}
		if d.Severity != hcl.DiagError {
			continue
		}
		synthetic := strings.HasPrefix(d.Subject.Filename, "<")
		found := false
		for _, a := range anns {
			if !strings.Contains(d.Summary, a.summary) {
				continue
			}
			if (synthetic && a.file == "") || (a.file == d.Subject.Filename && a.line == d.Subject.Start.Line) {
				a.matched, found = true, true
			}
		}
		if !found {
			t.Errorf("unexpected diagnostic: %s: %s", d.Subject, d.Summary+": "+d.Detail)
		}
	}
	for _, a := range anns {
		if !a.matched {
			t.Errorf("line %d: no diagnostic %q; got:\n%s", a.line, a.summary, formatDiags(diags))
		}
	}
}

func formatDiags(diags hcl.Diagnostics) string {
	var sb strings.Builder
	for _, d := range diags {
		sb.WriteString("  " + d.Error() + "\n")
	}
	return sb.String()
}

func TestGoodFixtures(t *testing.T) {
	for _, path := range fixturePaths(t, filepath.Join("testdata", "good")) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := loadFixture(t, path)
			if diags := runPipeline(f.dir, f.inputs); len(diags) > 0 {
				t.Errorf("want no diagnostics, got:\n%s", formatDiags(diags))
			}
		})
	}
}

func TestCheckFixtures(t *testing.T) {
	for _, path := range fixturePaths(t, filepath.Join("testdata", "bad_validate")) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := loadFixture(t, path)
			if len(f.annotations) == 0 {
				t.Fatalf("fixture has no # ERROR: annotation")
			}
			p, diags := Load(f.dir)
			if diags.HasErrors() {
				t.Fatalf("the fixture must load; got:\n%s", formatDiags(diags))
			}
			checkDiagnostics(t, Check(p, nil), f.annotations)
		})
	}
	for _, path := range fixturePaths(t, filepath.Join("testdata", "good")) {
		t.Run("good/"+filepath.Base(path), func(t *testing.T) {
			f := loadFixture(t, path)
			p, diags := Load(f.dir)
			if diags.HasErrors() {
				t.Fatal(formatDiags(diags))
			}
			if diags := Check(p, nil); len(diags) > 0 {
				t.Errorf("want no diagnostics, got:\n%s", formatDiags(diags))
			}
		})
	}
}
