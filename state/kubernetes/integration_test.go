package kubernetes

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

// The integration tests need a Kubernetes API server: hack/testenv/up.sh
// starts one and sets KUBECONFIG. Without one they skip, except in CI where
// they fail.

var nsCounter atomic.Int64

// testClient returns a client for $KUBECONFIG.
func testClient(tb testing.TB) kubernetes.Interface {
	tb.Helper()
	unavailable := func(msg string) {
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg + " (start one with: eval \"$(hack/testenv/up.sh)\")")
	}
	if os.Getenv("KUBECONFIG") == "" {
		unavailable("KUBECONFIG is not set, so there is no Kubernetes API server to test against")
	}
	client, _, err := newClient("", "")
	if err != nil {
		unavailable(err.Error())
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		unavailable(fmt.Sprintf("the API server of KUBECONFIG does not answer: %v", err))
	}
	return client
}

// testNamespace creates a namespace deleted after the test.
func testNamespace(tb testing.TB, client kubernetes.Interface) string {
	tb.Helper()
	name := fmt.Sprintf("ansflow-state-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, nsCounter.Add(1))
	ctx := context.Background()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
}

func newTestStore(tb testing.TB, client kubernetes.Interface, ns string, lease time.Duration) *Store {
	tb.Helper()
	s, err := NewWithClient(client, Config{Namespace: ns, Name: "test", LeaseDuration: lease})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	client := testClient(t)
	storetest.Run(t, func(t *testing.T) state.Store {
		return newTestStore(t, client, testNamespace(t, client), 0)
	})
	storetest.RunTwoWriters(t, func(t *testing.T) (state.Store, state.Store) {
		ns := testNamespace(t, client)
		return newTestStore(t, client, ns, 0), newTestStore(t, client, ns, 0)
	})
}

// bigState returns a state of about size bytes of JSON that gzip cannot
// shrink much: random hex in every instance.
func bigState(size int) *state.State {
	st := storetest.Sample("default")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; size > 0; i++ {
		in := storetest.Instance(fmt.Sprintf("exec.big[%d]", i))
		blob := make([]byte, 2048)
		for j := range blob {
			blob[j] = "0123456789abcdef"[rng.IntN(16)]
		}
		in.Outputs = json.RawMessage(fmt.Sprintf(`{"stdout":%q}`, blob))
		st.Instances[in.Addr] = in
		size -= len(blob) + 500
	}
	return st
}

func TestLargeStateIsChunked(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	s := newTestStore(t, client, ns, 0)
	ctx := t.Context()
	want := bigState(5 << 20)
	for range 2 { // the second Write replaces the first generation
		if err := s.Write(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, want.Lineage, state.Change{Remove: "exec.test"}); err != nil {
		t.Fatal(err)
	}
	want.Apply(state.Change{Remove: "exec.test"})
	want.Serial++

	got, err := newTestStore(t, client, ns, 0).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("5 MiB state after a round trip differs (-want +got):\n%.2000s", diff)
	}
	list, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: s.selector(labelPart + "=" + partChunk)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) < 2 {
		t.Errorf("a 5 MiB state is kept in %d chunk Secrets, want several", len(list.Items))
	}
	for _, c := range list.Items {
		if c.Labels[labelGeneration] != "2" {
			t.Errorf("chunk %s of generation %s survived the Write of generation 2", c.Name, c.Labels[labelGeneration])
		}
		if len(c.Data["data"]) > chunkSize {
			t.Errorf("chunk %s holds %d bytes, want at most %d", c.Name, len(c.Data["data"]), chunkSize)
		}
	}
}

func TestLongJournalSpansSegments(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	s := newTestStore(t, client, ns, 0)
	ctx := t.Context()
	want := bigState(0)
	if err := s.Write(ctx, want); err != nil {
		t.Fatal(err)
	}
	big := bigState(400 << 10)
	for _, in := range big.Instances {
		c := state.Change{Instance: in}
		if err := s.Append(ctx, want.Lineage, c); err != nil {
			t.Fatal(err)
		}
		want.Apply(c)
		want.Serial++
	}
	got, err := newTestStore(t, client, ns, 0).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state after %d Appends differs (-want +got):\n%.2000s", len(big.Instances), diff)
	}
	segs, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: s.selector(labelPart + "=" + partJournal)})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs.Items) < 3 {
		t.Errorf("400 KiB of changes are in %d journal segments, want at least 3", len(segs.Items))
	}
	if err := s.Write(ctx, got); err != nil {
		t.Fatal(err)
	}
	segs, err = client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: s.selector(labelPart + "=" + partJournal)})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs.Items) != 0 {
		t.Errorf("%d journal segments survived the compacting Write", len(segs.Items))
	}
}

func TestWriteConflict(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	ctx := t.Context()
	a, b := newTestStore(t, client, ns, 0), newTestStore(t, client, ns, 0)
	st := storetest.Sample("default")
	if err := a.Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, st); err == nil || !strings.Contains(err.Error(), "changed by another run") {
		t.Errorf("Write over a state another store wrote since it read = %v, want a conflict", err)
	}
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	s := newTestStore(t, client, ns, 2*time.Second)
	ctx := t.Context()
	dead := state.NewLockInfo("apply")
	l := s.lease(nil, dead)
	old := metav1.NewMicroTime(time.Now().Add(-time.Minute))
	l.Spec.RenewTime, l.Spec.AcquireTime = &old, &old
	if _, err := client.CoordinationV1().Leases(ns).Create(ctx, l, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lock, err := s.Lock(ctx, state.NewLockInfo("apply"), false)
	if err != nil {
		t.Fatalf("Lock over a lease last renewed a minute ago: %v", err)
	}
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestKilledHolder takes the lock in a child process, kills it with
// SIGKILL, and checks that the lock is refused, naming the child, until
// the lease expires.
func TestKilledHolder(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	const lease = 3 * time.Second
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "ANSFLOW_TEST_HOLD_NS="+ns)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked") {
		_ = cmd.Process.Kill()
		t.Fatalf("child did not lock: %q %v", line, err)
	}
	// Let it renew at least once, then kill it.
	time.Sleep(lease / 2)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()

	s := newTestStore(t, client, ns, lease)
	_, err = s.Lock(t.Context(), state.NewLockInfo("apply"), false)
	var locked *state.LockedError
	if !errors.As(err, &locked) || locked.Holder.PID != cmd.Process.Pid {
		t.Fatalf("Lock just after the holder was killed = %v, want a LockedError naming pid %d", err, cmd.Process.Pid)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*lease)
	defer cancel()
	lock, err := s.Lock(ctx, state.NewLockInfo("apply"), true)
	if err != nil {
		t.Fatalf("Lock with wait after the holder died: %v", err)
	}
	waited := time.Since(killed)
	defer lock.Unlock()
	if waited > lease+2*time.Second {
		t.Errorf("the lock of a killed holder was taken over after %v, want about the lease duration %v", waited, lease)
	}
	t.Logf("lock of a killed holder taken over %v after the kill (lease %v)", waited.Round(time.Millisecond), lease)
}

// TestHelperHoldLock is the child process of TestKilledHolder.
func TestHelperHoldLock(t *testing.T) {
	ns := os.Getenv("ANSFLOW_TEST_HOLD_NS")
	if ns == "" {
		t.Skip("helper process")
	}
	client, _, err := newClient("", "")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, client, ns, 3*time.Second)
	if _, err := s.Lock(context.Background(), state.NewLockInfo("apply"), false); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

func TestRenewalKeepsTheLock(t *testing.T) {
	client := testClient(t)
	ns := testNamespace(t, client)
	const lease = 2 * time.Second
	s := newTestStore(t, client, ns, lease)
	lock, err := s.Lock(t.Context(), state.NewLockInfo("apply"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	time.Sleep(2 * lease)
	var l *coordinationv1.Lease
	if l, err = client.CoordinationV1().Leases(ns).Get(t.Context(), s.leaseName(), metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(l.Spec.RenewTime.Time); age > lease {
		t.Errorf("lease renewed %v ago while held, want less than %v", age, lease)
	}
	_, err = s.Lock(t.Context(), state.NewLockInfo("plan"), false)
	var locked *state.LockedError
	if !errors.As(err, &locked) || locked.Holder.ID != lock.Info.ID {
		t.Errorf("Lock while the holder renews = %v, want a LockedError naming %s", err, lock.Info.ID)
	}
}
