package kubernetes

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// wsNamespace creates a namespace for a workspace or migration test,
// deleted after it.
func wsNamespace(t *testing.T, client kubernetes.Interface) string {
	ns := fmt.Sprintf("ws-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, nsCounter.Add(1))
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
	return ns
}

// TestWorkspacesConformance runs the workspace conformance tests on the API server,
// each in a namespace of its own that also holds another state's
// workspace, which must not show.
func TestWorkspacesConformance(t *testing.T) {
	client := testClient(t)
	storetest.RunWorkspaces(t, func(t *testing.T) storetest.Opener {
		ns := wsNamespace(t, client)
		open := func(name, ws string) *Store {
			s, err := NewWithClient(client, Config{Namespace: ns, Name: name, Workspace: ws})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if err := open("another", "elsewhere").Write(t.Context(), state.New("elsewhere")); err != nil {
			t.Fatal(err)
		}
		return func(ws string) state.WorkspaceStore { return open("test", ws) }
	})
}

// TestMigration migrates from the local store to the API server and back.
func TestMigration(t *testing.T) {
	client := testClient(t)
	kube := func(t *testing.T) state.Store {
		return newTestStore(t, client, wsNamespace(t, client), 0)
	}
	t.Run("to kubernetes", func(t *testing.T) {
		storetest.RunMigration(t, func(t *testing.T) (state.Store, state.Store) {
			return state.NewLocal(t.TempDir(), "default"), kube(t)
		})
	})
	t.Run("to local", func(t *testing.T) {
		storetest.RunMigration(t, func(t *testing.T) (state.Store, state.Store) {
			return kube(t), state.NewLocal(t.TempDir(), "default")
		})
	})
}
