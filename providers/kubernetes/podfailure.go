package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// failingReasons are container waiting reasons that do not go away by
// waiting longer: a rollout showing them fails at once instead of at its timeout.
var failingReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

// PodFailure is the error of a wait that gave up early because a pod cannot start.
type PodFailure struct {
	Owner     string // "deployment/web"
	Pod       string
	Container string
	Reason    string // CrashLoopBackOff, ImagePullBackOff, ...
	Message   string
	ExitCode  *int32   // last exit code of a crashing container
	Events    []string // recent events of the pod, oldest first
	LogTail   []string // last log lines of the container
}

func (f *PodFailure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: pod %s: container %q is in %s", f.Owner, f.Pod, f.Container, f.Reason)
	if f.Message != "" {
		fmt.Fprintf(&b, " (%s)", f.Message)
	}
	if f.ExitCode != nil {
		fmt.Fprintf(&b, ", last exit code %d", *f.ExitCode)
	}
	if len(f.Events) > 0 {
		b.WriteString("\nrecent events of the pod:")
		for _, e := range f.Events {
			b.WriteString("\n  " + e)
		}
	}
	if len(f.LogTail) > 0 {
		fmt.Fprintf(&b, "\nlast log lines of container %q:", f.Container)
		for _, l := range f.LogTail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// failingContainer returns the first container of pod stuck in a failing state.
func failingContainer(pod *corev1.Pod) (corev1.ContainerStatus, bool) {
	if pod.DeletionTimestamp != nil {
		return corev1.ContainerStatus{}, false
	}
	all := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range all {
		if w := cs.State.Waiting; w != nil && failingReasons[w.Reason] {
			return cs, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// podFailureWatcher starts, once per label selector, a watch on the pods of a
// workload; the first failing pod cancels ctx with a *PodFailure as cause.
type podFailureWatcher struct {
	c      *client
	ctx    context.Context
	cancel context.CancelCauseFunc
	ns     string
	mu     sync.Mutex
	seen   map[string]bool
}

func (c *client) newPodFailureWatcher(ctx context.Context, cancel context.CancelCauseFunc, ns string) *podFailureWatcher {
	return &podFailureWatcher{c: c, ctx: ctx, cancel: cancel, ns: ns, seen: map[string]bool{}}
}

// watchSelector begins watching pods matching selector on behalf of owner.
func (w *podFailureWatcher) watchSelector(owner, selector string) {
	if selector == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[selector] {
		return
	}
	w.seen[selector] = true
	go func() {
		err := w.c.watchPods(w.ctx, w.ns, selector, owner)
		if err != nil && w.ctx.Err() == nil {
			w.cancel(err)
		}
	}()
}

// watchPods returns a *PodFailure when a matching pod fails to start, or the
// context's error when the wait ends first.
func (c *client) watchPods(ctx context.Context, ns, selector, owner string) error {
	pods, err := c.mappingFor(schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
	if err != nil {
		return err
	}
	var failure *PodFailure
	err = c.watchUntil(ctx, selection{target: pods, namespace: ns, selector: selector}, func(objs []*unstructured.Unstructured) (bool, error) {
		for _, u := range objs {
			var pod corev1.Pod
			if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod) != nil {
				continue
			}
			if cs, bad := failingContainer(&pod); bad {
				failure = c.describeFailure(ctx, owner, &pod, cs)
				return true, nil
			}
		}
		return false, nil
	})
	if failure != nil {
		return failure
	}
	return err
}

// describeFailure gathers the pod's reason, recent events and last log lines.
func (c *client) describeFailure(ctx context.Context, owner string, pod *corev1.Pod, cs corev1.ContainerStatus) *PodFailure {
	f := &PodFailure{Owner: owner, Pod: pod.Name, Container: cs.Name, Reason: cs.State.Waiting.Reason, Message: cs.State.Waiting.Message}
	if t := cs.LastTerminationState.Terminated; t != nil {
		code := t.ExitCode
		f.ExitCode = &code
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	f.Events = c.podEvents(ctx, pod)
	f.LogTail = c.logTail(ctx, pod, cs.Name, 10)
	return f
}

// podEvents lists the last few events of a pod as "Warning BackOff: message".
func (c *client) podEvents(ctx context.Context, pod *corev1.Pod) []string {
	sel := fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.name", pod.Name),
		fields.OneTermEqualSelector("involvedObject.uid", string(pod.UID)),
	)
	list, err := c.typed.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		return []string{"(events unavailable: " + c.apiError(err).Error() + ")"}
	}
	evs := list.Items
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	if len(evs) > 5 {
		evs = evs[len(evs)-5:]
	}
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		line := fmt.Sprintf("%s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message))
		if e.Count > 1 {
			line += fmt.Sprintf(" (x%d)", e.Count)
		}
		out = append(out, line)
	}
	return out
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e corev1.Event) time.Time {
	t := e.CreationTimestamp.Time
	for _, c := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time} {
		if c.After(t) {
			t = c
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

// logTail returns the last n log lines of a container: of its previous
// instance when there was one (a crash loop), else of the current one.
func (c *client) logTail(ctx context.Context, pod *corev1.Pod, container string, n int64) []string {
	var raw []byte
	var err error
	for _, previous := range []bool{true, false} {
		opts := &corev1.PodLogOptions{Container: container, TailLines: &n, Previous: previous}
		raw, err = c.typed.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).DoRaw(ctx)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil
	}
	text := strings.TrimRight(string(raw), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}
