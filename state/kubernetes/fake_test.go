package kubernetes

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// The hash key lives in a Secret of its own, is made once and is the same
// for every Store of the workspace; another workspace has another.
func TestHashKeyFake(t *testing.T) {
	client := fake.NewClientset()
	open := func(ws string) *Store {
		s, err := NewWithClient(client, Config{Name: "test", Namespace: "ns", Workspace: ws})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, err := open("default").HashKey(t.Context())
	if err != nil || len(a) != state.HashKeySize {
		t.Fatalf("HashKey: %x, %v", a, err)
	}
	b, err := open("default").HashKey(t.Context())
	if err != nil || string(a) != string(b) {
		t.Fatalf("a second Store has key %x, want %x (%v)", b, a, err)
	}
	if c, _ := open("ci").HashKey(t.Context()); string(c) == string(a) {
		t.Errorf("two workspaces share a key")
	}
	if _, err := client.CoreV1().Secrets("ns").Get(t.Context(), open("default").keyName(), metav1.GetOptions{}); err != nil {
		t.Errorf("no Secret of its own for the key: %v", err)
	}
}
