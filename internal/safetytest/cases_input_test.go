package safetytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// typedPipeline declares variables of several types, on known lines.
const typedPipeline = `variable "n" {
  type    = number
  default = 1
}

variable "l" {
  type    = list(string)
  default = []
}

variable "o" {
  type    = object({ name = string, port = number })
  default = { name = "a", port = 1 }
}

variable "pw" {
  type      = number
  sensitive = true
  default   = 0
}

variable "short" {
  type    = string
  default = "abcdef"
  validation {
    condition     = var.short != "ab"
    error_message = "The value must be longer than five characters."
  }
}

exec "a" {
  command = ["sh", "-c", "echo ${var.n}"]
}
`

// variableCases are bad variable values from -var, -var-file and
// ANSFLOW_VAR_ variables.
func variableCases() []hostile {
	typed := mainHCL(typedPipeline)
	withFile := func(name, content string) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) {
			typed(t, w)
			w.write(t, name, []byte(content))
		}
	}
	apply := func(flags ...string) []string { return append([]string{"apply", "-auto-approve"}, flags...) }
	return []hostile{
		{name: "vars/-var number given a word", setup: typed, args: apply("-var", "n=abc"), want: []string{`-var`, `"n"`, at("main.hcl", 1)}},
		{name: "vars/-var number given nothing", setup: typed, args: apply("-var", "n="), want: []string{`"n"`}},
		{name: "vars/-var without =", setup: typed, args: apply("-var", "n"), want: []string{"-var", "n"}},
		{name: "vars/-var with an empty name", setup: typed, args: apply("-var", "=3"), want: []string{"-var"}},
		{name: "vars/-var undeclared", setup: typed, args: apply("-var", "nn=1"), want: []string{`"nn"`, "-var"}},
		{name: "vars/-var list with a syntax error", setup: typed, args: apply("-var", "l=[1,"), want: []string{`"l"`}},
		{name: "vars/-var list given a map", setup: typed, args: apply("-var", `l={a="b"}`), want: []string{`"l"`, at("main.hcl", 6)}},
		{name: "vars/-var object missing an attribute", setup: typed, args: apply("-var", `o={name="a"}`), want: []string{`"o"`, at("main.hcl", 11)}},
		{name: "vars/-var object with a wrong attribute type", setup: typed, args: apply("-var", `o={name="a", port="http"}`), want: []string{`"o"`}},
		{name: "vars/-var failing validation", setup: typed, args: apply("-var", "short=ab"), want: []string{"longer than five", "main.hcl line"}},
		{name: "vars/-var sensitive of the wrong type does not echo the value", setup: typed,
			args: apply("-var", "pw="+canary), want: []string{`"pw"`}, never: []string{canary}},
		{name: "vars/-var with a function call", setup: typed, args: apply("-var", `l=file("/etc/passwd")`), want: []string{`"l"`}},
		{name: "vars/ANSFLOW_VAR_ number given a word", setup: typed, args: apply(), env: []string{"ANSFLOW_VAR_n=zz"}, want: []string{"ANSFLOW_VAR_n"}},
		{name: "vars/ANSFLOW_VAR_ list with a syntax error", setup: typed, args: apply(), env: []string{"ANSFLOW_VAR_l=[\"a\""}, want: []string{"ANSFLOW_VAR_l"}},
		{name: "vars/ANSFLOW_VAR_ object of the wrong shape", setup: typed, args: apply(), env: []string{"ANSFLOW_VAR_o=[1,2]"}, want: []string{"ANSFLOW_VAR_o"}},
		{name: "vars/ANSFLOW_VAR_ sensitive wrong type does not echo", setup: typed, args: apply(),
			env: []string{"ANSFLOW_VAR_pw=" + canary}, want: []string{"ANSFLOW_VAR_pw"}, never: []string{canary}},
		{name: "vars/-var-file syntax error", setup: withFile("bad.vars.hcl", "n = \n"), args: apply("-var-file=bad.vars.hcl"), want: []string{at("bad.vars.hcl", 1)}},
		{name: "vars/-var-file missing", setup: typed, args: apply("-var-file=missing.vars.hcl"), want: []string{"missing.vars.hcl"}},
		{name: "vars/-var-file with a block", setup: withFile("b.vars.hcl", "n = 2\nsettings {\n  x = 1\n}\n"), args: apply("-var-file=b.vars.hcl"), want: []string{at("b.vars.hcl", 2)}},
		{name: "vars/-var-file binary garbage", setup: func(t *testing.T, w *workspace) {
			typed(t, w)
			w.write(t, "g.vars.hcl", garbage(2, 512))
		}, args: apply("-var-file=g.vars.hcl"), want: []string{"g.vars.hcl"}},
		{name: "vars/-var-file wrong type", setup: withFile("t.vars.hcl", "\n\nn = \"many\"\n"), args: apply("-var-file=t.vars.hcl"), want: []string{at("t.vars.hcl", 3)}},
		{name: "vars/-var-file refers to a variable", setup: withFile("r.vars.hcl", "n = var.n\n"), args: apply("-var-file=r.vars.hcl"), want: []string{at("r.vars.hcl", 1)}},
		{name: "vars/-var-file unterminated string", setup: withFile("u.vars.hcl", "l = [\"a\n"), args: apply("-var-file=u.vars.hcl"), want: []string{at("u.vars.hcl", 1)}},
		{name: "vars/-var-file is a directory", setup: withFile("d.vars.hcl/x", "x"), args: apply("-var-file=d.vars.hcl"), want: []string{"d.vars.hcl"}},
		{name: "vars/-var-file sensitive wrong type does not echo", setup: withFile("s.vars.hcl", "pw = \""+canary+"\"\n"),
			args: apply("-var-file=s.vars.hcl"), want: []string{"s.vars.hcl"}, never: []string{canary}},
		{name: "vars/auto.vars.hcl wrong type", setup: withFile("z.auto.vars.hcl", "o = \"flat\"\n"), args: apply(), want: []string{at("z.auto.vars.hcl", 1)}},
	}
}

// planCases are damaged or foreign saved plans given to apply and show.
func planCases() []hostile {
	edit := func(f func(m map[string]any)) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) { w.editJSON(t, planFile, f) }
	}
	raw := func(data func(t *testing.T, w *workspace) []byte) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) { w.write(t, planFile, data(t, w)) }
	}
	applyPlan := []string{"apply", planFile}
	showPlan := []string{"show", planFile}
	c := func(name string, setup func(*testing.T, *workspace), want ...string) hostile {
		return hostile{name: "plan/" + name, setup: setup, args: applyPlan, want: append([]string{planFile}, want...)}
	}
	cases := []hostile{
		c("truncated", raw(func(t *testing.T, w *workspace) []byte { return w.read(t, planFile)[:100] }), "line "),
		c("empty", raw(func(*testing.T, *workspace) []byte { return nil })),
		c("binary garbage", raw(func(*testing.T, *workspace) []byte { return garbage(3, 1024) })),
		c("JSON array", raw(func(*testing.T, *workspace) []byte { return []byte("[]") })),
		c("JSON null", raw(func(*testing.T, *workspace) []byte { return []byte("null") })),
		c("deeply nested JSON", raw(func(*testing.T, *workspace) []byte { return []byte(strings.Repeat("[", 100000)) })),
		c("format_version 99", edit(func(m map[string]any) { m["format_version"] = 99 }), "newer"),
		c("format_version 0", edit(func(m map[string]any) { m["format_version"] = 0 })),
		c("format_version negative", edit(func(m map[string]any) { m["format_version"] = -1 })),
		c("format_version huge", edit(func(m map[string]any) { m["format_version"] = 1e30 })),
		c("format_version a string", edit(func(m map[string]any) { m["format_version"] = "1" })),
		c("format_version missing", edit(func(m map[string]any) { delete(m, "format_version") })),
		c("changes a string", edit(func(m map[string]any) { m["changes"] = "run everything" }), "line "),
		c("changes holding null", edit(func(m map[string]any) { m["changes"] = []any{nil} })),
		c("unknown action", edit(func(m map[string]any) {
			m["changes"].([]any)[0].(map[string]any)["action"] = "explode"
		})),
		c("sources missing", edit(func(m map[string]any) { delete(m, "sources") })),
		c("serial a string", edit(func(m map[string]any) { m["serial"] = "five" }), "line "),
		c("made for another lineage", edit(func(m map[string]any) { m["lineage"] = "another-lineage" })),
		c("made for an older serial", edit(func(m map[string]any) { m["serial"] = 1 })),
		c("pipeline changed since", edit(func(m map[string]any) {
			m["sources"] = map[string]any{"main.hcl": "0000000000000000000000000000000000000000000000000000000000000000"}
		})),
		c("variable of the wrong type", edit(func(m map[string]any) {
			m["variables"] = map[string]any{"n": map[string]any{"value": "abc", "type": "number"}}
		})),
		c("variable type garbage", edit(func(m map[string]any) {
			m["variables"] = map[string]any{"n": map[string]any{"value": 1, "type": []any{"weird", 1}}}
		})),
		c("variables missing a declared one", edit(func(m map[string]any) {
			m["variables"] = map[string]any{"nope": map[string]any{"value": 1, "type": "number"}}
		})),
		c("change for a step not in the pipeline", edit(func(m map[string]any) {
			ch := m["changes"].([]any)[0].(map[string]any)
			ch["addr"], ch["step"] = "exec.ghost", "exec.ghost"
		})),
		c("is a directory", func(t *testing.T, w *workspace) {
			if err := os.Remove(w.path(planFile)); err != nil {
				t.Fatal(err)
			}
			w.write(t, planFile+"/x", []byte("x"))
		}),
		c("does not exist", func(t *testing.T, w *workspace) {
			if err := os.Remove(w.path(planFile)); err != nil {
				t.Fatal(err)
			}
		}),
	}
	for _, s := range []hostile{
		c("truncated (show)", raw(func(t *testing.T, w *workspace) []byte { return w.read(t, planFile)[:150] }), "line "),
		c("format_version 99 (show)", edit(func(m map[string]any) { m["format_version"] = 99 }), "newer"),
		c("changes holding null (show)", edit(func(m map[string]any) { m["changes"] = []any{nil} })),
		c("garbage (show)", raw(func(*testing.T, *workspace) []byte { return garbage(4, 300) })),
	} {
		s.args = showPlan
		cases = append(cases, s)
	}
	return cases
}

// stateCases are damaged or foreign state snapshots and journals, given to
// apply, plan and the state commands.
func stateCases() []hostile {
	edit := func(f func(m map[string]any)) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) { w.editJSON(t, stateFile, f) }
	}
	snap := func(data func(t *testing.T, w *workspace) []byte) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) { w.write(t, stateFile, data(t, w)) }
	}
	jour := func(mangle func(i int, line string) string) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) { w.write(t, journalFile, journal(t, w, journalChanges, mangle)) }
	}
	foreign := func(header func(lineage string, serial uint64) (string, uint64)) func(*testing.T, *workspace) {
		return func(t *testing.T, w *workspace) {
			var snap struct {
				Lineage string `json:"lineage"`
				Serial  uint64 `json:"serial"`
			}
			if err := json.Unmarshal(w.read(t, stateFile), &snap); err != nil {
				t.Fatal(err)
			}
			lineage, base := header(snap.Lineage, snap.Serial)
			w.write(t, journalFile, journalFor(lineage, base, journalChanges, nil))
		}
	}
	const sf = "default.json"
	const jf = "default.journal"
	c := func(name string, setup func(*testing.T, *workspace), want ...string) hostile {
		return hostile{name: "state/" + name, promise: promiseState, setup: setup, want: want}
	}
	cases := []hostile{
		c("truncated snapshot", snap(func(t *testing.T, w *workspace) []byte { return w.read(t, stateFile)[:200] }), sf),
		c("empty snapshot", snap(func(*testing.T, *workspace) []byte { return nil }), sf),
		c("snapshot of binary garbage", snap(func(*testing.T, *workspace) []byte { return garbage(5, 2048) }), sf),
		c("snapshot JSON null", snap(func(*testing.T, *workspace) []byte { return []byte("null") }), sf),
		c("snapshot JSON array", snap(func(*testing.T, *workspace) []byte { return []byte("[1,2]") }), sf, "line 1"),
		c("snapshot deeply nested", snap(func(*testing.T, *workspace) []byte { return []byte(`{"instances":` + strings.Repeat("[", 100000)) }), sf),
		c("format_version 99", edit(func(m map[string]any) { m["format_version"] = 99 }), sf, "newer"),
		c("format_version 99 with unknown shapes", snap(func(*testing.T, *workspace) []byte {
			return []byte(`{"format_version": 99, "instances": [1, 2], "serial": "x"}`)
		}), sf, "newer"),
		c("format_version a string", edit(func(m map[string]any) { m["format_version"] = "1" }), sf, "line "),
		c("format_version missing", edit(func(m map[string]any) { delete(m, "format_version") }), sf),
		c("lineage missing", edit(func(m map[string]any) { delete(m, "lineage") }), sf),
		c("serial negative", edit(func(m map[string]any) { m["serial"] = -1 }), sf, "line "),
		c("serial a string", edit(func(m map[string]any) { m["serial"] = "x" }), sf, "line "),
		c("instances a list", edit(func(m map[string]any) { m["instances"] = []any{1} }), sf, "line "),
		c("instance status a number", edit(func(m map[string]any) {
			m["instances"].(map[string]any)["exec.a"].(map[string]any)["status"] = 7
		}), sf, "line "),
		c("runs an object", edit(func(m map[string]any) { m["runs"] = map[string]any{"a": 1} }), sf, "line "),
		c("journal record with a bad checksum", jour(func(i int, l string) string {
			if i == 0 {
				return strings.Replace(l, `"crc32":`, `"crc32":1`, 1)
			}
			return l
		}), jf, "line 2"),
		c("journal record of garbage", jour(func(i int, l string) string {
			if i == 1 {
				return "\x00\x01garbage"
			}
			return l
		}), jf, "line 3"),
		c("journal with a gap in serials", jour(func(i int, l string) string {
			if i == 1 {
				return strings.Replace(l, `"serial":`, `"serial":9`, 1)
			}
			return l
		}), jf, "line 3"),
		c("journal header of format_version 99", func(t *testing.T, w *workspace) {
			j := journal(t, w, journalChanges, nil)
			w.write(t, journalFile, bytes.Replace(j, []byte(`"format_version":1`), []byte(`"format_version":99`), 1))
		}, jf, "newer"),
		c("journal whole last record with a bad checksum", jour(func(i int, l string) string {
			if i == len(journalChanges)-1 {
				return regexp.MustCompile(`"crc32":\d+`).ReplaceAllString(l, `"crc32":1`)
			}
			return l
		}), jf, "line 4", "checksum", "last record"),
		c("journal of another lineage", foreign(func(lineage string, serial uint64) (string, uint64) { return "0000-other", serial }), jf, "does not continue"),
		c("journal base serial one ahead", foreign(func(lineage string, serial uint64) (string, uint64) { return lineage, serial + 1 }), jf, "does not continue"),
		c("journal base serial one behind", foreign(func(lineage string, serial uint64) (string, uint64) { return lineage, serial - 1 }), jf, "does not continue"),
		c("journal without its snapshot", func(t *testing.T, w *workspace) {
			w.write(t, journalFile, journal(t, w, journalChanges, nil))
			if err := os.Remove(w.path(stateFile)); err != nil {
				t.Fatal(err)
			}
		}, jf, "does not continue"),
		c("journal record missing its change", jour(func(i int, l string) string {
			if i == 0 {
				return `{"serial":6,"crc32":0}`
			}
			return l
		}), jf, "line 2"),
	}
	// The same damage seen by the read-only commands.
	for _, r := range []struct {
		args  []string
		label string
	}{{[]string{"plan"}, "plan"}, {[]string{"state", "list"}, "state list"}, {[]string{"show"}, "show"}, {[]string{"output"}, "output"}} {
		cases = append(cases,
			hostile{name: "state/truncated snapshot (" + r.label + ")", promise: promiseState, setup: snap(func(t *testing.T, w *workspace) []byte { return w.read(t, stateFile)[:200] }), args: r.args, want: []string{sf}},
			hostile{name: "state/format_version 99 (" + r.label + ")", promise: promiseState, setup: edit(func(m map[string]any) { m["format_version"] = 99 }), args: r.args, want: []string{sf, "newer"}},
		)
	}
	return cases
}

// annotation matches `# ERROR: summary` in a config/testdata/bad fixture.
var annotation = regexp.MustCompile(`#\s*ERROR:`)

// fixtureCases runs the annotated fixtures of config/testdata/bad through
// the binary: every annotated line must be named in the output as
// "FILE line N", with the sidecar's variable values given as flags.
func fixtureCases(t *testing.T, root string) []hostile {
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("reading the config fixtures: %v", err)
	}
	var cases []hostile
	for _, e := range entries {
		name := e.Name()
		var files map[string]string
		var sidecar string
		switch {
		case e.IsDir():
			files = readTree(t, filepath.Join(root, name))
			sidecar = files["vars.txt"]
			delete(files, "vars.txt")
		case strings.HasSuffix(name, ".hcl"):
			data, err := os.ReadFile(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			files = map[string]string{"main.hcl": string(data)}
			if data, err := os.ReadFile(filepath.Join(root, strings.TrimSuffix(name, ".hcl")+".vars.txt")); err == nil {
				sidecar = string(data)
			}
		default:
			continue
		}
		var want []string
		for file, content := range files {
			for i, line := range strings.Split(content, "\n") {
				if annotation.MatchString(line) {
					want = append(want, at(file, i+1))
				}
			}
		}
		args, env, named := sidecarInputs(sidecar)
		want = append(want, named...)
		cases = append(cases, hostile{
			name: "fixture/" + name,
			setup: func(t *testing.T, w *workspace) {
				if err := os.Remove(w.path("main.hcl")); err != nil {
					t.Fatal(err)
				}
				clitest.WriteFiles(t, w.dir, files)
			},
			args: append([]string{"apply", "-auto-approve"}, args...),
			env:  env,
			want: want,
		})
	}
	return cases
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sidecarInputs turns a fixture's vars.txt into flags and environment,
// and says which variable names the output must quote: those of the
// annotated -var lines (a value on the command line has no file).
func sidecarInputs(sidecar string) (args, env, named []string) {
	sc := bufio.NewScanner(strings.NewReader(sidecar))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			if annotation.MatchString(line[i:]) && strings.HasPrefix(line, "-var ") {
				name, _, _ := strings.Cut(strings.TrimPrefix(line, "-var "), "=")
				named = append(named, `"`+strings.TrimSpace(name)+`"`)
			}
			line = line[:i]
		}
		kind, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch kind {
		case "-var":
			args = append(args, "-var", rest)
		case "-var-file":
			args = append(args, "-var-file="+rest)
		case "env":
			env = append(env, rest)
		}
	}
	return args, env, named
}
