package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ansflow/ansflow/state/backends"
)

func TestLoadBackend(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    backends.Backend
		wantErr string // substring of the diagnostics
	}{
		{name: "no settings", src: `exec "a" { command = ["true"] }`, want: backends.Backend{Type: backends.Local}},
		{name: "no backend", src: `ansflow {}`, want: backends.Backend{Type: backends.Local}},
		{name: "explicit local", src: `ansflow {
backend "local" {}
}`, want: backends.Backend{Type: backends.Local}},
		{
			name: "kubernetes",
			src: `ansflow {
  backend "kubernetes" {
    namespace = "ci"
    name = "my-pipeline"
    kubeconfig = "kube/config"
    context = "dev"
    lease_duration = "5s"
  }
}`,
			want: backends.Backend{Type: backends.Kubernetes},
		},
		{name: "unknown attribute", src: `ansflow {
backend "kubernetes" {
name = "x"
color = "red"
}
}`, wantErr: "Unsupported argument"},
		{name: "missing name", src: `ansflow {
backend "kubernetes" { namespace = "x" }
}`, wantErr: "Missing required argument"},
		{name: "bad name", src: `ansflow {
backend "kubernetes" { name = "My_Pipeline" }
}`, wantErr: "Invalid state name"},
		{name: "bad duration", src: `ansflow {
backend "kubernetes" {
name = "x"
lease_duration = "soon"
}
}`, wantErr: "Invalid lease duration"},
		{name: "unknown type", src: `ansflow {
backend "s3" {}
}`, wantErr: "Unsupported backend type"},
		{name: "variables are not available", src: `variable "ns" { default = "x" }
ansflow {
backend "kubernetes" {
name = "x"
namespace = var.ns
}
}`, wantErr: "Variables not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			got, diags := loadBackend(dir)
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.wantErr) {
					t.Fatalf("loadBackend diagnostics = %v, want an error containing %q", diags, tt.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("loadBackend: %v", diags)
			}
			if tt.want.Type == backends.Kubernetes {
				tt.want.Kubernetes.Namespace = "ci"
				tt.want.Kubernetes.Name = "my-pipeline"
				tt.want.Kubernetes.Kubeconfig = filepath.Join(dir, "kube/config")
				tt.want.Kubernetes.Context = "dev"
				tt.want.Kubernetes.LeaseDuration = 5 * time.Second
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("loadBackend (-want +got):\n%s", diff)
			}
		})
	}
}
