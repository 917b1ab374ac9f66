package safetytest

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// specialFileCases put something that is not a regular file, or a file
// over its size limit, where ansflow reads a file: the state snapshot and
// journal, a saved plan, a variables file, a pipeline file and the
// argument of every file function. Each must be refused at once with a
// message naming the file: no hang on a FIFO, no endless read of a
// device, no fresh start from a dangling link.
func specialFileCases() []hostile {
	kinds := []struct {
		name string
		make func(t *testing.T, w *workspace, name string)
	}{
		{"dangling symlink", func(t *testing.T, w *workspace, name string) {
			replaceWith(t, w, name, func(p string) error { return os.Symlink(p+".gone", p) })
		}},
		{"FIFO", func(t *testing.T, w *workspace, name string) {
			replaceWith(t, w, name, func(p string) error { return syscall.Mkfifo(p, 0o600) })
		}},
		{"/dev/zero", func(t *testing.T, w *workspace, name string) {
			replaceWith(t, w, name, func(p string) error { return os.Symlink("/dev/zero", p) })
		}},
		{"/dev/urandom", func(t *testing.T, w *workspace, name string) {
			replaceWith(t, w, name, func(p string) error { return os.Symlink("/dev/urandom", p) })
		}},
		{"directory", func(t *testing.T, w *workspace, name string) {
			replaceWith(t, w, name, func(p string) error { return os.Mkdir(p, 0o700) })
		}},
	}
	var cases []hostile
	add := func(promise, name string, setup func(*testing.T, *workspace), args []string, want ...string) {
		cases = append(cases, hostile{name: "special/" + name, promise: promise, setup: setup, args: args, want: want})
	}
	for _, k := range kinds {
		k := k
		on := func(file string) func(*testing.T, *workspace) {
			return func(t *testing.T, w *workspace) { k.make(t, w, file) }
		}
		add(promiseState, "state snapshot is a "+k.name, on(stateFile), nil, "default.json")
		add(promiseState, "state snapshot is a "+k.name+" (history)", on(stateFile), []string{"history"}, "default.json")
		add(promiseState, "state journal is a "+k.name, on(journalFile), nil, "default.journal")
		add(promiseSpecial, "plan file is a "+k.name, on(planFile), []string{"apply", planFile}, planFile)
		add(promiseSpecial, "plan file is a "+k.name+" (show)", on(planFile), []string{"show", planFile}, planFile)
		add(promiseSpecial, "var file is a "+k.name, on("x.vars.hcl"), []string{"plan", "-var-file=x.vars.hcl"}, "x.vars.hcl")
		if k.name != "directory" { // a directory named *.hcl is not read at all
			add(promiseSpecial, "auto var file is a "+k.name, on("x.auto.vars.hcl"), []string{"plan"}, "x.auto.vars.hcl")
			add(promiseSpecial, "pipeline file is a "+k.name, on("extra.hcl"), []string{"validate"}, "extra.hcl")
		}
		for _, fn := range []string{"file", "filebase64", "filesha256", "templatefile"} {
			call := fn + `("arg")`
			if fn == "templatefile" {
				call = fn + `("arg", {})`
			}
			add(promiseSpecial, fn+"() of a "+k.name, func(t *testing.T, w *workspace) {
				w.write(t, "main.hcl", []byte("locals {\n  x = "+call+"\n}\n\nexec \"a\" {\n  command = [\"echo\", local.x]\n}\n"))
				k.make(t, w, "arg")
			}, []string{"plan"}, "main.hcl line 2", "arg")
		}
	}
	// Regular files over the limits, made sparse so that they cost no disk.
	for _, big := range []struct {
		file string
		size int64
		args []string
	}{
		{stateFile, 600 << 20, nil},
		{journalFile, 600 << 20, nil},
		{planFile, 300 << 20, []string{"apply", planFile}},
		{"x.vars.hcl", 100 << 20, []string{"plan", "-var-file=x.vars.hcl"}},
		{"arg", 100 << 20, []string{"plan"}},
	} {
		promise, what := promiseSpecial, "plan, variables and file() file size (bytes, sparse)"
		if strings.HasPrefix(big.file, ".ansflow") {
			promise, what = promiseState, "state and journal file size (bytes, sparse)"
		}
		limit(what, big.size)
		add(promise, "sparse "+big.file+" over the limit", func(t *testing.T, w *workspace) {
			if big.file == "arg" {
				w.write(t, "main.hcl", []byte("locals {\n  x = file(\"arg\")\n}\n\nexec \"a\" {\n  command = [\"echo\", local.x]\n}\n"))
			}
			replaceWith(t, w, big.file, func(p string) error {
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					return err
				}
				return os.Truncate(p, big.size)
			})
		}, big.args, strings.TrimPrefix(big.file, ".ansflow/state/"), "larger than")
	}
	return cases
}

// replaceWith removes the file name of the workspace (if any) and makes
// something else there with mk.
func replaceWith(t *testing.T, w *workspace, name string, mk func(path string) error) {
	t.Helper()
	p := w.path(name)
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := mk(p); err != nil {
		t.Fatal(err)
	}
}
