// Package backends chooses where a pipeline keeps its state, from the
// backend block of its ansflow settings:
//
//	ansflow {
//	  backend "kubernetes" {
//	    namespace      = "ci"           # default: the context's namespace, else "default"
//	    name           = "my-pipeline"  # required: a DNS label shared by everyone applying the pipeline
//	    kubeconfig     = "~/.kube/config"  # default: KUBECONFIG, then ~/.kube/config; relative to the pipeline directory
//	    context        = "dev"          # default: the current context
//	    lease_duration = "15s"          # how long the lock of a dead run stays taken
//	  }
//	}
//
// Without a backend block (or with backend "local" {}) the state is in the
// pipeline's .ansflow/state directory. Attributes are constants: variables
// are not available when the backend is chosen.
package backends

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
	"github.com/ansflow/ansflow/state/kubernetes"
)

// Backend types.
const (
	Local      = "local"
	Kubernetes = "kubernetes"
)

// Backend is where a pipeline keeps its state.
type Backend struct {
	Type string // Local or Kubernetes
	// Kubernetes configures the Kubernetes backend; its Workspace is set
	// by Open.
	Kubernetes kubernetes.Config
}

// kubernetesBlock is the body of backend "kubernetes".
type kubernetesBlock struct {
	Namespace     string `hcl:"namespace,optional"`
	Name          string `hcl:"name"`
	Kubeconfig    string `hcl:"kubeconfig,optional"`
	Context       string `hcl:"context,optional"`
	LeaseDuration string `hcl:"lease_duration,optional"`
}

// Decode reads a backend block; nil means the local backend. pipelineDir
// anchors a relative kubeconfig path.
func Decode(b *config.Backend, pipelineDir string) (Backend, hcl.Diagnostics) {
	if b == nil {
		return Backend{Type: Local}, nil
	}
	switch b.Type {
	case Local:
		_, diags := b.Config.Content(&hcl.BodySchema{})
		return Backend{Type: Local}, diags
	case Kubernetes:
		return decodeKubernetes(b, pipelineDir)
	}
	return Backend{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unsupported backend type",
		Detail:   fmt.Sprintf("There is no backend %q; use \"kubernetes\", or remove the backend block to keep the state in .ansflow/state.", b.Type),
		Subject:  b.DeclRange.Ptr(),
	}}
}

func decodeKubernetes(b *config.Backend, pipelineDir string) (Backend, hcl.Diagnostics) {
	var kb kubernetesBlock
	diags := gohcl.DecodeBody(b.Config, nil, &kb)
	if diags.HasErrors() {
		return Backend{}, diags
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
	return Backend{Type: Kubernetes, Kubernetes: cfg}, diags
}

// Load returns the backend configured by the pipeline in dir. It parses
// the pipeline only when a file mentions "ansflow", so that the common case
// costs a few reads; a pipeline that cannot be parsed is an error only when
// its backend cannot be told.
func Load(dir string) (Backend, hcl.Diagnostics) {
	if !mentionsSettings(dir) {
		return Backend{Type: Local}, nil
	}
	p, diags := config.Load(dir)
	if p == nil || p.Settings == nil {
		if diags.HasErrors() {
			return Backend{}, diags
		}
		return Backend{Type: Local}, nil
	}
	return Decode(p.Settings.Backend, dir)
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

// Open returns the store of workspace in the pipeline directory dir.
func (b Backend) Open(dir, workspace string) (state.Store, error) {
	switch b.Type {
	case Local, "":
		return state.NewLocal(state.StateDir(dir), workspace), nil
	case Kubernetes:
		cfg := b.Kubernetes
		cfg.Workspace = workspace
		return kubernetes.New(cfg)
	}
	return nil, fmt.Errorf("unsupported backend type %q", b.Type)
}

// String describes the backend for messages.
func (b Backend) String() string {
	if b.Type == Kubernetes {
		k := b.Kubernetes
		s := fmt.Sprintf("kubernetes (state %q", k.Name)
		if k.Namespace != "" {
			s += " in namespace " + k.Namespace
		}
		if k.Context != "" {
			s += ", context " + k.Context
		}
		return s + ")"
	}
	return "local (.ansflow/state)"
}
