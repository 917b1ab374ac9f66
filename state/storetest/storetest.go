// Package storetest is the conformance test every state.Store passes.
//
// A store's test calls Run with a function that returns a new, empty store
// (a fresh directory, namespace, ...) for each subtest:
//
//	func TestLocal(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) state.Store {
//			return state.NewLocal(t.TempDir(), "default")
//		})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ansflow/ansflow/state"
)

// Run runs the conformance tests against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) state.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s state.Store)
	}{
		{"ReadEmpty", testReadEmpty},
		{"WriteReadRoundTrip", testRoundTrip},
		{"SerialIncrements", testSerial},
		{"AppendReplaysInOrder", testAppend},
		{"AppendWithoutWrite", testAppendWithoutWrite},
		{"AppendWrongLineage", testAppendWrongLineage},
		{"WriteWrongLineage", testWriteWrongLineage},
		{"WriteOverEmptyState", testWriteOverEmpty},
		{"LockTwice", testLockTwice},
		{"LockWaitTimeout", testLockWait},
		{"LockWaitSucceeds", testLockWaitSucceeds},
		{"UnlockThenLock", testUnlockThenLock},
		{"ForceUnlock", testForceUnlock},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Approvals", testApprovals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, newStore(t))
		})
	}
}

// Sample returns a state with a bit of everything: instances with raw JSON
// fields, outputs and runs. Times are in UTC without monotonic readings so
// that they compare equal after a round trip.
func Sample(workspace string) *state.State {
	s := state.New(workspace)
	s.RunNumber = 2
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for i := range 3 {
		in := Instance(fmt.Sprintf(`docker_build.app["svc%d"]`, i))
		in.Started, in.Finished = t0, t0.Add(time.Duration(i)*time.Second)
		s.Instances[in.Addr] = in
	}
	code := 0
	s.Instances["exec.test"] = &state.Instance{
		Addr: "exec.test", Type: "exec", Status: state.StatusFailed,
		Fingerprint: "sha256:ff", ExitCode: &code, Error: "exit status 1", Run: 2, Attempts: 3,
		Inputs: json.RawMessage(`{"command":["make","test"]}`),
	}
	s.Outputs = map[string]state.Output{
		"image": {Value: json.RawMessage(`"reg/app@sha256:abc"`), Type: json.RawMessage(`"string"`)},
		"token": {Value: json.RawMessage(`"(sensitive:sha256:00)"`), Type: json.RawMessage(`"string"`), Sensitive: true},
	}
	s.Runs = []state.Run{
		{Number: 1, ID: "r1", Operation: "apply", User: "ci@host", Started: t0, Finished: t0.Add(time.Minute), Result: "ok", Created: 4},
		{Number: 2, ID: "r2", Operation: "apply", User: "ci@host", Started: t0.Add(time.Hour), Result: "running"},
	}
	return s
}

// Instance returns an instance record at addr with typical content.
func Instance(addr string) *state.Instance {
	return &state.Instance{
		Addr:         addr,
		Type:         "docker_build",
		Status:       state.StatusOK,
		Fingerprint:  "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Inputs:       json.RawMessage(`{"context":".","image":"app","tag":"1.2.3","build_args":{"NODE_ENV":"production"}}`),
		Outputs:      json.RawMessage(`{"image_id":"sha256:feed","ref":"app:1.2.3"}`),
		Private:      json.RawMessage(`{"k":1}`),
		FileHashes:   map[string]string{"Dockerfile": "sha256:aa"},
		Dependencies: []string{"exec.prepare"},
		Run:          1,
		Attempts:     1,
	}
}

func testReadEmpty(t *testing.T, s state.Store) {
	got := mustRead(t, s)
	if got.Lineage == "" {
		t.Error("Read of an empty store: lineage is empty, want a fresh one")
	}
	if got.FormatVersion != state.FormatVersion || got.Serial != 0 || len(got.Instances) != 0 || got.Instances == nil {
		t.Errorf("Read of an empty store = %+v, want a New state", got)
	}
}

func testRoundTrip(t *testing.T, s state.Store) {
	want := Sample("default")
	mustWrite(t, s, want)
	got := mustRead(t, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after Write differs (-wrote +read):\n%s", diff)
	}
}

func testSerial(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := Sample("default")
	mustWrite(t, s, st)
	first := st.Serial
	if first == 0 {
		t.Fatal("Write left the serial at 0")
	}
	mustWrite(t, s, st)
	if st.Serial != first+1 {
		t.Fatalf("second Write: serial %d, want %d", st.Serial, first+1)
	}
	if err := s.Append(ctx, st.Lineage, state.Change{Remove: "exec.test"}); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, s).Serial; got != first+2 {
		t.Fatalf("after Append: serial %d, want %d", got, first+2)
	}
	mustWrite(t, s, st)
	if st.Serial != first+3 {
		t.Fatalf("Write after Append: serial %d, want %d", st.Serial, first+3)
	}
}

func testAppend(t *testing.T, s state.Store) {
	ctx := t.Context()
	want := Sample("default")
	mustWrite(t, s, want)

	a, b := Instance("exec.a"), Instance("exec.b")
	b2 := Instance("exec.b")
	b2.Status, b2.Error = state.StatusFailed, "boom"
	outputs := map[string]state.Output{"x": {Value: json.RawMessage(`1`), Type: json.RawMessage(`"number"`)}}
	run3 := state.Run{Number: 3, ID: "r3", Operation: "apply", Result: "running"}
	run3done := run3
	run3done.Result = "ok"
	changes := []state.Change{
		{RunNumber: 3, Run: &run3},
		{Instance: a},
		{Instance: b},
		{Remove: `docker_build.app["svc0"]`},
		{Instance: b2}, // replaces b: order matters
		{Outputs: outputs},
		{Run: &run3done},
	}
	for _, c := range changes {
		if err := s.Append(ctx, want.Lineage, c); err != nil {
			t.Fatalf("Append(%+v): %v", c, err)
		}
		want.Apply(c)
	}
	want.Serial += uint64(len(changes))
	got := mustRead(t, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after Appends differs (-want +got):\n%s", diff)
	}

	// Write folds the appended changes in.
	mustWrite(t, s, got)
	again := mustRead(t, s)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("Read after compacting Write differs (-want +got):\n%s", diff)
	}
}

func testAppendWithoutWrite(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := mustRead(t, s)
	if err := s.Append(ctx, st.Lineage, state.Change{Instance: Instance("exec.a")}); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, s)
	if got.Lineage != st.Lineage || got.Serial != st.Serial+1 || got.Instances["exec.a"] == nil {
		t.Errorf("Read after Append to an empty store: lineage %s serial %d instances %v; want lineage %s serial %d with exec.a",
			got.Lineage, got.Serial, keys(got.Instances), st.Lineage, st.Serial+1)
	}
}

func testAppendWrongLineage(t *testing.T, s state.Store) {
	st := Sample("default")
	mustWrite(t, s, st)
	err := s.Append(t.Context(), "another-lineage", state.Change{Remove: "exec.test"})
	if err == nil {
		t.Fatal("Append with a wrong lineage succeeded, want an error")
	}
	if got := mustRead(t, s); got.Serial != st.Serial || got.Instances["exec.test"] == nil {
		t.Errorf("a refused Append changed the state: serial %d (want %d)", got.Serial, st.Serial)
	}
}

func testWriteWrongLineage(t *testing.T, s state.Store) {
	mustWrite(t, s, Sample("default"))
	other := Sample("default") // a fresh lineage
	if err := s.Write(t.Context(), other); err == nil {
		t.Fatal("Write of another lineage over a state succeeded, want an error")
	}
}

func testWriteOverEmpty(t *testing.T, s state.Store) {
	mustWrite(t, s, state.New("default"))
	other := Sample("default")
	mustWrite(t, s, other)
	if got := mustRead(t, s); got.Lineage != other.Lineage {
		t.Errorf("lineage after Write over an empty state: %s, want %s", got.Lineage, other.Lineage)
	}
}

func testLockTwice(t *testing.T, s state.Store) {
	ctx := t.Context()
	info := lockInfo("apply")
	lock := mustLock(t, s, info)
	defer lock.Unlock()

	start := time.Now()
	_, err := s.Lock(ctx, lockInfo("plan"), false)
	if time.Since(start) > 2*time.Second {
		t.Errorf("Lock without wait took %v, want it to fail fast", time.Since(start))
	}
	checkLocked(t, err, info)
}

func testLockWait(t *testing.T, s state.Store) {
	info := lockInfo("apply")
	lock := mustLock(t, s, info)
	defer lock.Unlock()

	const timeout = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start := time.Now()
	_, err := s.Lock(ctx, lockInfo("plan"), true)
	elapsed := time.Since(start)
	checkLocked(t, err, info)
	if ctx.Err() == nil {
		t.Errorf("Lock with wait gave up after %v, before its context (%v) ended", elapsed, timeout)
	}
	if elapsed > timeout+30*time.Second {
		t.Errorf("Lock with wait returned %v after its context ended", elapsed-timeout)
	}
}

func testLockWaitSucceeds(t *testing.T, s state.Store) {
	lock := mustLock(t, s, lockInfo("apply"))
	go func() {
		time.Sleep(200 * time.Millisecond)
		lock.Unlock()
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	second, err := s.Lock(ctx, lockInfo("plan"), true)
	if err != nil {
		t.Fatalf("Lock with wait after the holder unlocked: %v", err)
	}
	second.Unlock()
}

func testUnlockThenLock(t *testing.T, s state.Store) {
	lock := mustLock(t, s, lockInfo("apply"))
	if err := lock.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := lock.Unlock(); err != nil {
		t.Errorf("second Unlock: %v, want it harmless", err)
	}
	again := mustLock(t, s, lockInfo("apply"))
	if err := again.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func testForceUnlock(t *testing.T, s state.Store) {
	ctx := t.Context()
	if err := s.ForceUnlock(ctx, "nobody"); err == nil {
		t.Error("ForceUnlock with no lock held succeeded, want an error")
	}
	info := lockInfo("apply")
	stale := mustLock(t, s, info)
	defer stale.Unlock()

	err := s.ForceUnlock(ctx, "wrong-id")
	if err == nil {
		t.Fatal("ForceUnlock with a wrong id succeeded, want an error")
	}
	if !strings.Contains(err.Error(), info.ID) {
		t.Errorf("ForceUnlock with a wrong id: %q, want it to name the holder's id %s", err, info.ID)
	}
	if err := s.ForceUnlock(ctx, info.ID); err != nil {
		t.Fatalf("ForceUnlock with the holder's id: %v", err)
	}
	next := mustLock(t, s, lockInfo("apply"))
	if err := next.Unlock(); err != nil {
		t.Fatal(err)
	}
	// The forced-out holder unlocking late must not disturb anyone.
	stale.Unlock()
	last := mustLock(t, s, lockInfo("apply"))
	last.Unlock()
}

func testConcurrentAppends(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := Sample("default")
	mustWrite(t, s, st)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				in := Instance(fmt.Sprintf("exec.w%d_%d", w, i))
				if err := s.Append(ctx, st.Lineage, state.Change{Instance: in}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Append: %v", err)
	}
	got := mustRead(t, s)
	if want := st.Serial + workers*each; got.Serial != want {
		t.Errorf("serial after %d concurrent Appends: %d, want %d", workers*each, got.Serial, want)
	}
	if want := len(st.Instances) + workers*each; len(got.Instances) != want {
		t.Errorf("instances after concurrent Appends: %d, want %d", len(got.Instances), want)
	}
}

func mustRead(t *testing.T, s state.Store) *state.State {
	t.Helper()
	st, err := s.Read(t.Context())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return st
}

func mustWrite(t *testing.T, s state.Store, st *state.State) {
	t.Helper()
	before := st.Serial
	if err := s.Write(t.Context(), st); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st.Serial <= before && before != 0 {
		t.Fatalf("Write left serial at %d, was %d", st.Serial, before)
	}
}

func mustLock(t *testing.T, s state.Store, info state.LockInfo) *state.Lock {
	t.Helper()
	lock, err := s.Lock(t.Context(), info, false)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if lock.Info.ID != info.ID {
		t.Fatalf("Lock returned info with ID %q, want %q", lock.Info.ID, info.ID)
	}
	return lock
}

func checkLocked(t *testing.T, err error, holder state.LockInfo) {
	t.Helper()
	var locked *state.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Lock: %v, want a *state.LockedError", err)
	}
	if locked.Holder.ID != holder.ID || locked.Holder.Operation != holder.Operation || locked.Holder.PID != holder.PID {
		t.Errorf("LockedError holder = %+v, want the first holder %+v", locked.Holder, holder)
	}
}

func lockInfo(op string) state.LockInfo {
	info := state.NewLockInfo(op)
	info.Version = "test"
	return info
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// testApprovals records an approval request, its decision and the removal
// of another step's record through Append, and checks they survive a
// compacting Write.
func testApprovals(t *testing.T, s state.Store) {
	ctx := t.Context()
	want := Sample("default")
	mustWrite(t, s, want)
	asked := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := &state.Approval{Addr: "exec.deploy", Fingerprint: "fp1", Status: state.ApprovalPending, Run: 3,
		Requested: asked, Expires: asked.Add(24 * time.Hour), Approvers: []string{"alice"}}
	other := &state.Approval{Addr: "exec.other", Fingerprint: "fp2", Status: state.ApprovalPending, Run: 3, Requested: asked}
	decided := *req
	decided.Status, decided.By, decided.Decided = state.ApprovalApproved, "alice", asked.Add(time.Hour)
	for _, c := range []state.Change{{Approval: req}, {Approval: other}, {Approval: &decided}, {RemoveApproval: "exec.other"}} {
		if err := s.Append(ctx, want.Lineage, c); err != nil {
			t.Fatalf("Append(%+v): %v", c, err)
		}
		want.Apply(c)
		want.Serial++
	}
	got := mustRead(t, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after approval Appends differs (-want +got):\n%s", diff)
	}
	if a := got.Approvals["exec.deploy"]; a == nil || a.Status != state.ApprovalApproved || a.By != "alice" {
		t.Errorf("approval of exec.deploy = %+v, want approved by alice", a)
	}
	if len(got.ApprovalLog) != 1 {
		t.Errorf("approval log has %d entries, want the 1 decision", len(got.ApprovalLog))
	}
	mustWrite(t, s, got)
	if diff := cmp.Diff(got, mustRead(t, s)); diff != "" {
		t.Errorf("Read after compacting Write differs (-want +got):\n%s", diff)
	}
}

// RunTwoWriters runs the conformance tests that need two handles on one
// stored workspace, as two processes have: newPair returns two stores of
// the same, empty workspace.
func RunTwoWriters(t *testing.T, newPair func(t *testing.T) (a, b state.Store)) {
	tests := []struct {
		name string
		test func(t *testing.T, a, b state.Store)
	}{
		{"TakingTurns", testTakingTurns},
		{"AppendAfterOtherWriterConflicts", testAppendConflict},
		{"WriteAfterOtherWriterConflicts", testWriteConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newPair(t)
			tt.test(t, a, b)
		})
	}
}

// started writes a sample state through a and reads it back through b, as
// two runs that both read it would.
func started(t *testing.T, a, b state.Store) (*state.State, *state.State) {
	t.Helper()
	ctx := t.Context()
	if err := a.Write(ctx, Sample("default")); err != nil {
		t.Fatal(err)
	}
	sa, err := a.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sa, sb
}

// Stores that read before they write (as lock holders do) see each
// other's changes.
func testTakingTurns(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	sa, _ := started(t, a, b)
	if err := a.Append(ctx, sa.Lineage, state.Change{Remove: "exec.test"}); err != nil {
		t.Fatal(err)
	}
	sb, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Instances["exec.test"] != nil {
		t.Fatalf("b does not see a's Append")
	}
	if err := b.Write(ctx, sb); err != nil {
		t.Fatalf("Write after reading the other's Append: %v", err)
	}
	got, err := a.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, got.Lineage, state.Change{Instance: Instance("exec.more")}); err != nil {
		t.Fatalf("Append after reading the other's Write: %v", err)
	}
}

// A writer whose read is out of date fails with a ConflictError and
// records nothing (force-unlock of a live holder, then a second run).
func testAppendConflict(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	sa, sb := started(t, a, b)
	if err := b.Append(ctx, sb.Lineage, state.Change{Instance: Instance("exec.b")}); err != nil {
		t.Fatal(err)
	}
	var conflict *state.ConflictError
	if err := a.Append(ctx, sa.Lineage, state.Change{Instance: Instance("exec.a")}); !errors.As(err, &conflict) {
		t.Fatalf("Append on a state changed by another store: %v, want a *state.ConflictError", err)
	}
	// It stays refused: the losing run cannot slip in its next record.
	if err := a.Append(ctx, sa.Lineage, state.Change{Instance: Instance("exec.a2")}); !errors.As(err, &conflict) {
		t.Fatalf("second Append of the losing store: %v, want a *state.ConflictError", err)
	}
	got := mustRead(t, b)
	if got.Instances["exec.b"] == nil || got.Instances["exec.a"] != nil || got.Instances["exec.a2"] != nil {
		t.Errorf("after the conflict: want exec.b kept and neither exec.a nor exec.a2 recorded")
	}
}

func testWriteConflict(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	sa, sb := started(t, a, b)
	if err := b.Append(ctx, sb.Lineage, state.Change{Instance: Instance("exec.b")}); err != nil {
		t.Fatal(err)
	}
	var conflict *state.ConflictError
	sa.Instances["exec.a"] = Instance("exec.a")
	if err := a.Write(ctx, sa); !errors.As(err, &conflict) {
		t.Fatalf("Write on a state changed by another store: %v, want a *state.ConflictError", err)
	}
	got := mustRead(t, b)
	if got.Instances["exec.b"] == nil || got.Instances["exec.a"] != nil {
		t.Errorf("the losing Write replaced the winner's state")
	}
}
