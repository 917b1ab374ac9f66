package safetytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// A hostile case is one malformed input given to the real binary in a copy
// of a workspace that has a valid state and a valid saved plan. It must
// exit non-zero with a message naming the file (and the position where the
// input has one), never crash, and leave the state files byte for byte.
type hostile struct {
	name string
	// setup makes the input in the workspace copy: it may overwrite
	// main.hcl, add files, corrupt the plan file or the state.
	setup func(t *testing.T, w *workspace)
	args  []string // default: apply -auto-approve
	env   []string
	want  []string // each must appear in the output
	// never must not appear in the output (e.g. a secret).
	never []string
	// promise is the promise of the probe report the case checks
	// (default: promiseMalformed).
	promise string
	// maxOutput, when set, bounds stdout and stderr together (bytes).
	maxOutput int
}

// workspace is a copy of the baseline pipeline directory.
type workspace struct {
	dir string
}

func (w *workspace) path(name string) string { return filepath.Join(w.dir, name) }

func (w *workspace) write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(w.path(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path(name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *workspace) read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(w.path(name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editJSON decodes a JSON file into a generic map, lets edit change it and
// writes it back.
func (w *workspace) editJSON(t *testing.T, name string, edit func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.read(t, name), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	w.write(t, name, data)
}

const (
	stateFile   = ".ansflow/state/default.json"
	journalFile = ".ansflow/state/default.journal"
	planFile    = "saved.plan"
)

// baselinePipeline is valid; every case starts from it, applied once, with
// a plan saved to saved.plan (-var n=2).
const baselinePipeline = `variable "n" {
  type    = number
  default = 1
}

variable "pw" {
  type      = string
  sensitive = true
  default   = ""
}

exec "a" {
  command = ["sh", "-c", "echo ${var.n}"]
}
`

// makeBaseline applies the baseline pipeline and saves a plan.
func makeBaseline(t *testing.T) string {
	t.Helper()
	dir := clitest.Dir(t, map[string]string{"main.hcl": baselinePipeline})
	mustRun(t, dir, nil, "apply", "-auto-approve")
	mustRun(t, dir, nil, "plan", "-out="+planFile, "-var", "n=2")
	return dir
}

// copyDir copies the tree src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stateBytes reads every state file of the workspace except the lock
// files, which a run may create.
func stateBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	sdir := filepath.Join(dir, ".ansflow", "state")
	entries, err := os.ReadDir(sdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock") || strings.HasSuffix(e.Name(), ".lock.info") {
			continue
		}
		if !e.Type().IsRegular() { // a special file a case put there
			target, _ := os.Readlink(filepath.Join(sdir, e.Name()))
			files[e.Name()] = e.Type().String() + " " + target
			continue
		}
		data, err := os.ReadFile(filepath.Join(sdir, e.Name()))
		if err != nil && !e.IsDir() {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// TestHostileInputs runs every malformed input of the corpus through the
// binary.
func TestHostileInputs(t *testing.T) {
	base := makeBaseline(t)
	cases := append(pipelineCases(), variableCases()...)
	cases = append(cases, planCases()...)
	cases = append(cases, stateCases()...)
	cases = append(cases, specialFileCases()...)
	cases = append(cases, boundedCases()...)
	cases = append(cases, fixtureCases(t, filepath.Join("..", "..", "config", "testdata", "bad"))...)
	if longRun() {
		cases = append(cases, mutatedCases(200)...)
	}

	var handled atomic.Int64
	t.Run("corpus", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				defer tally(t, c.promise)
				runHostile(t, base, c)
				if !t.Failed() {
					handled.Add(1)
				}
			})
		}
	})
	t.Logf("malformed inputs handled: %d/%d", handled.Load(), len(cases))
	if len(cases) < 100 {
		t.Errorf("the corpus has %d inputs, want at least 100", len(cases))
	}
}

// runHostile runs one case in a copy of the workspace base.
func runHostile(t *testing.T, base string, c hostile) {
	w := &workspace{dir: t.TempDir()}
	copyDir(t, base, w.dir)
	if c.setup != nil {
		c.setup(t, w)
	}
	before := stateBytes(t, w.dir)
	args := c.args
	if args == nil {
		args = []string{"apply", "-auto-approve"}
	}
	r := run(t, w.dir, c.env, args...)
	out := r.Output()
	if crashed(out) {
		t.Fatalf("ansflow crashed\n%s", r)
	}
	if r.Code == 0 {
		t.Errorf("want a non-zero exit\n%s", r)
	}
	if strings.TrimSpace(out) == "" {
		t.Errorf("no message at all\n%s", r)
	}
	if c.maxOutput > 0 && len(out) > c.maxOutput {
		t.Errorf("%d bytes of output, want at most %d\n%s", len(out), c.maxOutput, r)
	}
	for _, want := range c.want {
		if !strings.Contains(out, want) {
			t.Errorf("the message does not contain %q\n%s", want, r)
		}
	}
	for _, never := range c.never {
		if strings.Contains(out, never) {
			t.Errorf("the message contains %q\n%s", never, r)
		}
	}
	if after := stateBytes(t, w.dir); !equalFiles(before, after) {
		t.Errorf("the state files changed: before %v, after %v", keys(before), keys(after))
	}
}

func equalFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// at names a position in main.hcl the way diagnostics print it.
func at(file string, line int) string { return fmt.Sprintf("%s line %d", file, line) }

// mainHCL is a setup that replaces main.hcl.
func mainHCL(src string) func(*testing.T, *workspace) {
	return func(t *testing.T, w *workspace) { w.write(t, "main.hcl", []byte(src)) }
}

// garbage is n seeded random bytes.
func garbage(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// journal builds a journal on top of the workspace's snapshot: a header
// and one record per change, framed as the store writes them. mangle may
// alter each record line before it is written (index from 0).
func journal(t *testing.T, w *workspace, changes []string, mangle func(i int, line string) string) []byte {
	t.Helper()
	var snap struct {
		Lineage string `json:"lineage"`
		Serial  uint64 `json:"serial"`
	}
	if err := json.Unmarshal(w.read(t, stateFile), &snap); err != nil {
		t.Fatal(err)
	}
	return journalFor(snap.Lineage, snap.Serial, changes, mangle)
}

func journalFor(lineage string, base uint64, changes []string, mangle func(int, string) string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"format_version":1,"lineage":%q,"base_serial":%d}`+"\n", lineage, base)
	table := crc32.MakeTable(crc32.Castagnoli)
	for i, c := range changes {
		line := fmt.Sprintf(`{"serial":%d,"crc32":%d,"change":%s}`, base+uint64(i)+1, crc32.Checksum([]byte(c), table), c)
		if mangle != nil {
			line = mangle(i, line)
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes()
}

// journalChanges are valid journal records: an instance added, then removed.
var journalChanges = []string{
	`{"instance":{"addr":"exec.b","type":"exec","status":"ok","fingerprint":"f","run":1,"attempts":1}}`,
	`{"instance":{"addr":"exec.c","type":"exec","status":"ok","fingerprint":"g","run":1,"attempts":1}}`,
	`{"remove":"exec.b"}`,
}

// TestJournalHelperIsValid guards the journal cases: the unmangled journal
// is read, so a failure of a mangled one is really due to the damage.
func TestJournalHelperIsValid(t *testing.T) {
	w := &workspace{dir: makeBaseline(t)}
	w.write(t, journalFile, journal(t, w, journalChanges, nil))
	r := mustRun(t, w.dir, nil, "state", "list")
	if !strings.Contains(r.Stdout, "exec.c") || strings.Contains(r.Stdout, "exec.b") {
		t.Fatalf("the journal was not replayed: want exec.a and exec.c\n%s", r)
	}
}

// TestToleratedDamage covers damage the store is designed to survive
// rather than refuse: a journal left over by a crash inside Write (older
// than the snapshot) and a journal whose last line was torn by a crash. Reading must
// work and show the snapshot (plus the whole records).
func TestToleratedDamage(t *testing.T) {
	defer tally(t, promiseState)
	base := makeBaseline(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, w *workspace)
		want  []string
		not   []string
	}{
		// What a crash inside Write leaves: the snapshot holds the
		// journal's records (all of them older than the snapshot). A
		// journal of another lineage is an error now (stateCases).
		{"journal older than the snapshot", func(t *testing.T, w *workspace) {
			var snap struct {
				Lineage string `json:"lineage"`
				Serial  uint64 `json:"serial"`
			}
			if err := json.Unmarshal(w.read(t, stateFile), &snap); err != nil || snap.Serial < 3 {
				t.Fatalf("baseline state: serial %d, %v", snap.Serial, err)
			}
			w.write(t, journalFile, journalFor(snap.Lineage, snap.Serial-3, journalChanges[:2], nil))
		}, []string{"exec.a"}, []string{"exec.b", "exec.c"}},
		{"journal with a torn last line", func(t *testing.T, w *workspace) {
			j := journal(t, w, journalChanges[:2], nil)
			w.write(t, journalFile, j[:len(j)-10])
		}, []string{"exec.a", "exec.b"}, []string{"exec.c"}},
		{"stale lock info", func(t *testing.T, w *workspace) {
			w.write(t, ".ansflow/state/default.lock.info", []byte(`{"id":"gone","pid":999999,"operation":"apply"}`))
		}, []string{"exec.a"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &workspace{dir: t.TempDir()}
			copyDir(t, base, w.dir)
			c.setup(t, w)
			r := mustRun(t, w.dir, nil, "state", "list")
			for _, s := range c.want {
				if !strings.Contains(r.Stdout, s) {
					t.Errorf("state list does not show %s\n%s", s, r)
				}
			}
			for _, s := range c.not {
				if strings.Contains(r.Stdout, s) {
					t.Errorf("state list shows %s\n%s", s, r)
				}
			}
			mustRun(t, w.dir, nil, "plan")
		})
	}
}

// mutatedCases are n seeded mutations of the baseline's pipeline, state
// and plan: a run of random bytes written over a random place, or the
// file cut short. Only those the mutation really breaks are kept, so
// each must get a diagnostic; the long run (ANSFLOW_LONG=1) adds them.
func mutatedCases(n int) []hostile {
	rng := rand.New(rand.NewSource(7))
	targets := []struct {
		file string
		args []string
	}{
		{"main.hcl", nil},
		{stateFile, nil},
		{planFile, []string{"apply", planFile}},
	}
	var cases []hostile
	for i := range n {
		tg := targets[i%len(targets)]
		// A pipeline cut short may still be valid (between two blocks).
		seed, cut := rng.Int63(), tg.file != "main.hcl" && rng.Intn(2) == 0
		cases = append(cases, hostile{
			name: fmt.Sprintf("mutated/%s #%d", tg.file, i),
			args: tg.args,
			want: []string{baseName(tg.file)},
			setup: func(t *testing.T, w *workspace) {
				data := mutate(rand.New(rand.NewSource(seed)), w.read(t, tg.file), cut)
				w.write(t, tg.file, data)
			},
		})
	}
	return cases
}

// mutate cuts a JSON document short (before its closing brace) or inserts
// bytes that are never valid in JSON or HCL at a random place: a NUL and a
// newline (invalid outside strings, and inside quoted strings too), then
// random bytes. Either way the result is malformed.
func mutate(rng *rand.Rand, data []byte, cut bool) []byte {
	out := append([]byte(nil), data...)
	if cut {
		end := len(bytes.TrimRight(out, " \n"))
		return out[:rng.Intn(end)]
	}
	at := rng.Intn(len(out))
	junk := append([]byte{0, '\n'}, garbage(rng.Int63(), rng.Intn(8))...)
	return append(out[:at], append(junk, out[at:]...)...)
}
