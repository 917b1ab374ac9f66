package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// selection is what a wait looks at: one object by name, or every object
// matching a label selector, of one kind in one namespace.
type selection struct {
	target    target
	namespace string
	name      string // either name or selector
	selector  string
}

func (s selection) String() string {
	if s.name != "" {
		return s.target.kindName() + "/" + s.name
	}
	return fmt.Sprintf("%s objects matching %q", s.target.kindName(), s.selector)
}

// listWatch lists and watches the selection through the dynamic client.
func (c *client) listWatch(s selection, failed *lastError) cache.ListerWatcher {
	ri := c.resource(s.target, s.namespace)
	narrow := func(o *metav1.ListOptions) {
		if s.name != "" {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.name).String()
		}
		if s.selector != "" {
			o.LabelSelector = s.selector
		}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			narrow(&o)
			obj, err := ri.List(ctx, o)
			failed.set(err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			narrow(&o)
			w, err := ri.Watch(ctx, o)
			failed.set(err)
			return w, err
		},
	}
}

// checkFunc decides on the current set of selected objects (sorted by name):
// done, or an error that ends the wait (a failure seen before the timeout).
type checkFunc func(objs []*unstructured.Unstructured) (done bool, err error)

// watchUntil watches the selection until check is satisfied, check fails, or
// ctx ends. check sees every object of the selection after each change. The
// initial list counts too, so a condition already met returns at once and an
// object created later is waited for.
func (c *client) watchUntil(ctx context.Context, s selection, check checkFunc) error {
	var store cache.Store
	var mu sync.Mutex
	evaluate := func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		items := store.List()
		objs := make([]*unstructured.Unstructured, 0, len(items))
		for _, it := range items {
			if u, ok := it.(*unstructured.Unstructured); ok {
				objs = append(objs, u)
			}
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
		return check(objs)
	}
	pre := func(st cache.Store) (bool, error) {
		store = st
		return evaluate()
	}
	cond := func(watch.Event) (bool, error) { return evaluate() }
	var failed lastError
	_, err := watchtools.UntilWithSync(ctx, c.listWatch(s, &failed), &unstructured.Unstructured{}, pre, cond)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	if errors.Is(err, watchtools.ErrWatchClosed) || endedByContext(err) {
		// The reflector retries failed lists and watches on its own and
		// never returns their errors: say why the wait saw nothing.
		if last := failed.get(); last != nil && ctx.Err() != nil {
			return fmt.Errorf("%w (the last request failed: %v)", ctx.Err(), c.apiError(last))
		}
		return ctx.Err()
	}
	return c.apiError(err)
}

// lastError keeps the most recent error of a list or watch call; a
// successful call clears it.
type lastError struct {
	mu  sync.Mutex
	err error
}

func (l *lastError) set(err error) {
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

func (l *lastError) get() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// endedByContext reports whether err is how UntilWithSync says ctx ended.
func endedByContext(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "timed out waiting for the condition")
}
