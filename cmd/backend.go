package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/backends"
	"github.com/ansflow/ansflow/state/kubernetes"
)

// kubernetesBlock is the body of backend "kubernetes".
type kubernetesBlock struct {
	Namespace     string `hcl:"namespace,optional"`
	Name          string `hcl:"name"`
	Kubeconfig    string `hcl:"kubeconfig,optional"`
	Context       string `hcl:"context,optional"`
	LeaseDuration string `hcl:"lease_duration,optional"`
}

// decodeBackend reads a backend block into the plain values the state
// backends take; nil means the local backend. pipelineDir anchors a
// relative kubeconfig path.
func decodeBackend(b *config.Backend, pipelineDir string) (backends.Backend, hcl.Diagnostics) {
	if b == nil {
		return backends.Backend{Type: backends.Local}, nil
	}
	switch b.Type {
	case backends.Local:
		_, diags := b.Config.Content(&hcl.BodySchema{})
		return backends.Backend{Type: backends.Local}, diags
	case backends.Kubernetes:
		return decodeKubernetesBackend(b, pipelineDir)
	}
	return backends.Backend{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unsupported backend type",
		Detail:   fmt.Sprintf("There is no backend %q; use \"kubernetes\", or remove the backend block to keep the state in .ansflow/state.", b.Type),
		Subject:  b.DeclRange.Ptr(),
	}}
}

func decodeKubernetesBackend(b *config.Backend, pipelineDir string) (backends.Backend, hcl.Diagnostics) {
	var kb kubernetesBlock
	diags := gohcl.DecodeBody(b.Config, nil, &kb)
	if diags.HasErrors() {
		return backends.Backend{}, diags
	}
	attrs, _ := b.Config.JustAttributes()
	subject := func(name string) *hcl.Range {
		if a := attrs[name]; a != nil {
			return a.Expr.Range().Ptr()
		}
		return b.DeclRange.Ptr()
	}
	cfg := kubernetes.Config{Namespace: kb.Namespace, Name: kb.Name, Kubeconfig: kb.Kubeconfig, Context: kb.Context}
	if err := kubernetes.ValidateName(kb.Name); err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid state name", Detail: err.Error() + ".", Subject: subject("name")})
	}
	if kb.LeaseDuration != "" {
		d, err := time.ParseDuration(kb.LeaseDuration)
		if err != nil || d < time.Second {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid lease duration",
				Detail: fmt.Sprintf("lease_duration must be a duration of at least one second such as \"15s\", not %q.", kb.LeaseDuration), Subject: subject("lease_duration")})
		}
		cfg.LeaseDuration = d
	}
	if p := cfg.Kubeconfig; p != "" && p != "~" && !strings.HasPrefix(p, "~/") && !filepath.IsAbs(p) {
		cfg.Kubeconfig = filepath.Join(pipelineDir, p)
	}
	return backends.Backend{Type: backends.Kubernetes, Kubernetes: cfg}, diags
}

// pipelineBackend returns the backend configured by p, a pipeline loaded
// from dir.
func pipelineBackend(p *config.Pipeline, dir string) (backends.Backend, hcl.Diagnostics) {
	if p == nil || p.Settings == nil {
		return backends.Backend{Type: backends.Local}, nil
	}
	return decodeBackend(p.Settings.Backend, dir)
}

// loadBackend returns the backend configured by the pipeline in dir, for
// the commands that do not load the pipeline otherwise. It parses the
// pipeline only when a file mentions "ansflow", so that the common case
// costs a few reads; a pipeline that cannot be parsed is an error only when
// its backend cannot be told.
func loadBackend(dir string) (backends.Backend, hcl.Diagnostics) {
	if !mentionsSettings(dir) {
		return backends.Backend{Type: backends.Local}, nil
	}
	p, diags := loadConfig(dir)
	if p == nil || p.Settings == nil {
		if diags.HasErrors() {
			return backends.Backend{}, diags
		}
		return backends.Backend{Type: backends.Local}, nil
	}
	return pipelineBackend(p, dir)
}

// mentionsSettings reports whether an *.hcl file of dir contains the word
// ansflow, which an ansflow block needs. Unreadable files count as yes, so
// that config.Load reports them.
func mentionsSettings(dir string) bool {
	names, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return true
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil || bytes.Contains(data, []byte("ansflow")) {
			return true
		}
	}
	return false
}

// openPipelineStore opens the store of the current workspace in the
// backend that p, the pipeline loaded from dir, configures; with a nil p it
// reads the backend from the pipeline files of dir.
func openPipelineStore(dir string, p *config.Pipeline) (state.Store, string, error) {
	ws, err := workspace(dir)
	if err != nil {
		return nil, "", err
	}
	var b backends.Backend
	var diags hcl.Diagnostics
	if p == nil {
		b, diags = loadBackend(dir)
	} else {
		b, diags = pipelineBackend(p, dir)
	}
	if diags.HasErrors() {
		return nil, "", fmt.Errorf("cannot tell where the state is kept: %w", diags)
	}
	store, err := b.Open(dir, ws)
	return store, ws, err
}
