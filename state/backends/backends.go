// Package backends opens the store where a pipeline keeps its state, as
// configured by the backend block of its ansflow settings (the command line
// decodes the block into a Backend):
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
	"fmt"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/kubernetes"
)

// Backend types.
const (
	Local      = "local"
	Kubernetes = "kubernetes"
)

// Backend is where a pipeline keeps its state: the backend block as plain
// values, which the caller decodes from the pipeline it loaded.
type Backend struct {
	Type string // Local or Kubernetes
	// Kubernetes configures the Kubernetes backend; its Workspace is set
	// by Open.
	Kubernetes kubernetes.Config
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
