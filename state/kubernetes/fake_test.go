package kubernetes

import (
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// TestStoreFake runs the conformance test against the fake clientset: it
// checks the encoding and the bookkeeping without a cluster. The real API
// server (resourceVersion conflicts, label selectors) is in TestStore.
func TestStoreFake(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		s, err := NewWithClient(fake.NewClientset(), Config{Name: "test", Namespace: "ns"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
