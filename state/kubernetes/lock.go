package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ansflow/ansflow/state"
)

// Backoff between attempts to take a lock held by another run.
const (
	lockRetryMin = 100 * time.Millisecond
	lockRetryMax = time.Second
)

// releaseTimeout bounds Unlock, which has no context.
const releaseTimeout = 10 * time.Second

// Lock takes the workspace's Lease for the holder described by info (its
// Path set to "lease NAMESPACE/NAME"). When another run holds a Lease that
// has not expired, Lock returns a *state.LockedError naming it at once or,
// with wait set, tries again with a growing backoff (100ms to 1s) until it
// succeeds or ctx is done. A held Lease is renewed every third of the lease
// duration until Unlock; see the package documentation for expiry.
func (s *Store) Lock(ctx context.Context, info state.LockInfo, wait bool) (*state.Lock, error) {
	info.Path = "lease " + s.namespace + "/" + s.leaseName()
	delay := lockRetryMin
	var locked *state.LockedError
	for {
		lock, err := s.tryLock(ctx, info)
		if err == nil {
			return lock, nil
		}
		if !errors.As(err, &locked) {
			if locked != nil && ctx.Err() != nil {
				return nil, locked // the wait ran out during a request
			}
			return nil, err
		}
		if !wait {
			return nil, locked
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, locked
		case <-t.C:
		}
		delay = min(2*delay, lockRetryMax)
	}
}

// tryLock makes one attempt to take the Lease: create it, or take it over
// when it is free or expired.
func (s *Store) tryLock(ctx context.Context, info state.LockInfo) (*state.Lock, error) {
	leases := s.client.CoordinationV1().Leases(s.namespace)
	for range 5 {
		cur, err := leases.Get(ctx, s.leaseName(), metav1.GetOptions{})
		var res *coordinationv1.Lease
		switch {
		case apierrors.IsNotFound(err):
			res, err = leases.Create(ctx, s.lease(nil, info), metav1.CreateOptions{})
		case err != nil:
			return nil, s.lockError(err)
		default:
			if h, live := s.holder(cur, time.Now()); live {
				return nil, &state.LockedError{Holder: h}
			}
			res, err = leases.Update(ctx, s.lease(cur, info), metav1.UpdateOptions{})
		}
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue // someone else moved first; look again
		}
		if err != nil {
			return nil, s.lockError(err)
		}
		h := s.startHolding(res, info)
		return state.NewLock(info, h.release), nil
	}
	return nil, fmt.Errorf("locking state %s: the lease %s keeps changing under this run; try again", s, s.leaseName())
}

// lease returns the Lease recording info as its holder, renewed now: a new
// one, or cur taken over.
func (s *Store) lease(cur *coordinationv1.Lease, info state.LockInfo) *coordinationv1.Lease {
	l := &coordinationv1.Lease{}
	if cur != nil {
		l = cur.DeepCopy()
	}
	l.Name, l.Namespace = s.leaseName(), s.namespace
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	for k, v := range s.labels("lock", 0, false) {
		l.Labels[k] = v
	}
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	data, _ := json.Marshal(info)
	l.Annotations[annLockInfo] = string(data)
	l.Annotations[annWorkspace] = s.workspace
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(s.leaseDuration / time.Second)
	transitions := int32(0)
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions + 1
	}
	l.Spec = coordinationv1.LeaseSpec{
		HolderIdentity:       &info.ID,
		LeaseDurationSeconds: &seconds,
		AcquireTime:          &now,
		RenewTime:            &now,
		LeaseTransitions:     &transitions,
	}
	return l
}

// holder returns who holds l and whether the hold is live: held, and
// renewed less than its duration before now.
func (s *Store) holder(l *coordinationv1.Lease, now time.Time) (state.LockInfo, bool) {
	spec := l.Spec
	if spec.HolderIdentity == nil || *spec.HolderIdentity == "" {
		return state.LockInfo{}, false
	}
	var h state.LockInfo
	if err := json.Unmarshal([]byte(l.Annotations[annLockInfo]), &h); err != nil || h.ID != *spec.HolderIdentity {
		h = state.LockInfo{ID: *spec.HolderIdentity, Who: "unknown (the lease has no ansflow lock info)"}
	}
	h.Path = "lease " + s.namespace + "/" + s.leaseName()
	renewed := time.Time{}
	switch {
	case spec.RenewTime != nil:
		renewed = spec.RenewTime.Time
	case spec.AcquireTime != nil:
		renewed = spec.AcquireTime.Time
	}
	d := s.leaseDuration
	if spec.LeaseDurationSeconds != nil {
		d = time.Duration(*spec.LeaseDurationSeconds) * time.Second
	}
	return h, now.Before(renewed.Add(d))
}

// heldLease is a Lease this process holds and renews.
type heldLease struct {
	store *Store
	id    string
	stop  context.CancelFunc
	done  chan struct{}

	mu    sync.Mutex
	lease *coordinationv1.Lease // as last written; nil once lost
}

// startHolding starts renewing l every third of the lease duration.
func (s *Store) startHolding(l *coordinationv1.Lease, info state.LockInfo) *heldLease {
	ctx, stop := context.WithCancel(context.Background())
	h := &heldLease{store: s, id: info.ID, stop: stop, done: make(chan struct{}), lease: l}
	go h.renew(ctx)
	return h
}

// renew renews the Lease until ctx is done or the Lease is lost (forced
// unlock, or taken over after it expired). A failed renewal is retried at
// the next tick: the Lease stays ours until it expires.
func (h *heldLease) renew(ctx context.Context) {
	defer close(h.done)
	leases := h.store.client.CoordinationV1().Leases(h.store.namespace)
	t := time.NewTicker(h.store.leaseDuration / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		next := h.lease.DeepCopy()
		h.mu.Unlock()
		now := metav1.NewMicroTime(time.Now())
		next.Spec.RenewTime = &now
		res, err := leases.Update(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil:
			h.mu.Lock()
			h.lease = res
			h.mu.Unlock()
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			h.mu.Lock()
			h.lease = nil
			h.mu.Unlock()
			return
		}
	}
}

// release stops the renewals and deletes the Lease if it is still ours.
func (h *heldLease) release() error {
	h.stop()
	<-h.done
	h.mu.Lock()
	l := h.lease
	h.lease = nil
	h.mu.Unlock()
	if l == nil {
		return nil // lost: someone else's now
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	return h.store.deleteLease(ctx, l, h.id)
}

// deleteLease deletes l if its holder is still id; a Lease changed since l
// was read is looked at again.
func (s *Store) deleteLease(ctx context.Context, l *coordinationv1.Lease, id string) error {
	leases := s.client.CoordinationV1().Leases(s.namespace)
	for range 5 {
		rv := l.ResourceVersion
		err := leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return s.lockError(err)
		}
		l, err = leases.Get(ctx, s.leaseName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return s.lockError(err)
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
			return nil // no longer ours
		}
	}
	return fmt.Errorf("releasing the lock of state %s: the lease %s keeps changing", s, s.leaseName())
}

// ForceUnlock deletes the Lease when its holder's ID is id, expired or
// not; a wrong id is an error naming the real holder.
func (s *Store) ForceUnlock(ctx context.Context, id string) error {
	l, err := s.client.CoordinationV1().Leases(s.namespace).Get(ctx, s.leaseName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no lock held on workspace %q of state %s", s.workspace, s)
	}
	if err != nil {
		return s.lockError(err)
	}
	h, _ := s.holder(l, time.Now())
	if h.ID == "" {
		return fmt.Errorf("no lock held on workspace %q of state %s", s.workspace, s)
	}
	if h.ID != id {
		return fmt.Errorf("lock ID %q does not match the lock held on workspace %q: ID %s, %s by %s (pid %d) since %s",
			id, s.workspace, h.ID, h.Operation, h.Who, h.PID, h.Created.Format(time.RFC3339))
	}
	return s.deleteLease(ctx, l, id)
}

// lockError wraps an API error met while locking.
func (s *Store) lockError(err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("locking state %s: %w; the state backend needs get, create, update and delete on leases.coordination.k8s.io in namespace %s", s, err, s.namespace)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("locking state %s: %w; does namespace %s exist?", s, err, s.namespace)
	}
	return fmt.Errorf("locking state %s: %w", s, err)
}
