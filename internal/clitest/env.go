package clitest

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Env describes the environment of a child ansflow.
type Env struct {
	// Parent is the environment it is made from, usually os.Environ().
	Parent []string
	// Home is the child's HOME; its XDG base directories and DOCKER_CONFIG
	// are below it. Empty, or HOME in Keep: HOME and the XDG directories
	// stay as in Parent.
	Home string
	// Go holds the Go settings (GOENV, GOCACHE, GOMODCACHE, GOPATH) kept
	// for a step that runs go when HOME moves: Parent's values win.
	Go map[string]string
	// Keep names variables Environ would remove or set that the child
	// should get from Parent: KUBECONFIG and DOCKER_HOST for tests of a
	// cluster or an engine. A trailing * keeps every name with that prefix.
	Keep []string
	// Extra is added last and wins over everything.
	Extra []string
}

// leaks are the prefixes of variables that change what a child ansflow
// does and so never reach it unless kept: its own settings and variables,
// Terraform's, OpenTelemetry's exporter, the Docker, Helm and Kubernetes
// clients' settings, Git's repository overrides, proxies and colour.
var leaks = []string{
	"ANSFLOW_", "TF_", "OTEL_", "DOCKER_", "HELM_", "KUBECONFIG=", "GIT_",
	"HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=", "ALL_PROXY=",
	"http_proxy=", "https_proxy=", "no_proxy=", "all_proxy=",
	"NO_COLOR=", "FORCE_COLOR=", "CLICOLOR=", "CLICOLOR_FORCE=",
}

// xdgHomes are the XDG base directories, set below Home.
var xdgHomes = map[string]string{
	"XDG_CONFIG_HOME": ".config",
	"XDG_CACHE_HOME":  ".cache",
	"XDG_DATA_HOME":   ".local/share",
	"XDG_STATE_HOME":  ".local/state",
}

// Environ is the environment e describes: Parent without the leaking
// variables, HOME and the XDG and Docker config directories under Home
// (Go's settings and caches pinned, so that a step running go finds them),
// NO_COLOR=1, then Extra. Each name appears once.
func (e Env) Environ() []string {
	if e.keeps("HOME=") {
		e.Home = "" // the child lives in the test's HOME, as do its XDG dirs
	}
	var set []string
	if e.Home != "" {
		set = append(set, "HOME="+e.Home, "DOCKER_CONFIG="+filepath.Join(e.Home, ".docker"))
		for _, name := range slices.Sorted(maps.Keys(xdgHomes)) {
			set = append(set, name+"="+filepath.Join(e.Home, xdgHomes[name]))
		}
		for _, name := range slices.Sorted(maps.Keys(e.Go)) {
			set = append(set, name+"="+e.Go[name])
		}
	}
	set = append(set, "NO_COLOR=1")

	out := envList{}
	for _, kv := range e.Parent {
		if e.keeps(kv) || !e.replaced(kv) {
			out.set(kv)
		}
	}
	for _, kv := range set {
		name, _, _ := strings.Cut(kv, "=")
		if _, inParent := lookup(e.Parent, name); inParent && (e.keeps(kv) || isGo(name)) {
			continue // Parent's value stays
		}
		out.set(kv)
	}
	for _, kv := range e.Extra {
		out.set(kv)
	}
	return out.kvs
}

// replaced reports whether Environ drops kv of Parent: a leaking variable,
// or one it sets itself because HOME moves.
func (e Env) replaced(kv string) bool {
	for _, p := range leaks {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	if e.Home == "" {
		return false
	}
	name, _, _ := strings.Cut(kv, "=")
	_, xdg := xdgHomes[name]
	return name == "HOME" || xdg
}

// keeps reports whether kv's name is in Keep.
func (e Env) keeps(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	for _, k := range e.Keep {
		if prefix, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(name, prefix) || k == name {
			return true
		}
	}
	return false
}

func isGo(name string) bool { return strings.HasPrefix(name, "GO") }

// envList is an environment in which setting a name replaces its value
// where it first appeared.
type envList struct{ kvs []string }

func (l *envList) set(kv string) {
	name, _, _ := strings.Cut(kv, "=")
	for i, old := range l.kvs {
		if n, _, _ := strings.Cut(old, "="); n == name {
			l.kvs[i] = kv
			return
		}
	}
	l.kvs = append(l.kvs, kv)
}

// lookup is os.LookupEnv on env.
func lookup(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// goSettings are the Go settings that depend on HOME, as the test's go
// command resolves them (read once per process; none without go on PATH).
var goSettings = sync.OnceValue(func() map[string]string {
	out, err := exec.Command("go", "env", "-json", "GOENV", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(out, &m) != nil {
		return nil
	}
	for k, v := range m {
		if v == "" || v == "off" {
			delete(m, k)
		}
	}
	return m
})

// environ is the clean environment of a child whose HOME is home.
func environ(home string, keep, extra []string) []string {
	return Env{Parent: os.Environ(), Home: home, Go: goSettings(), Keep: keep, Extra: extra}.Environ()
}
