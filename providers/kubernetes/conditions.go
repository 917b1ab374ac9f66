package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ansflow/ansflow/providers"
)

// verdict is one object's state against a condition.
type verdict struct {
	met    bool
	detail string // "2/2 replicas", "1 of 2 updated replicas are available"
}

// condition evaluates one object; an error means it can never be met.
type condition func(u *unstructured.Unstructured) (verdict, error)

// conditionFor returns the check for a k8s_wait condition name.
func conditionFor(name string) condition {
	switch strings.ToLower(name) {
	case "available":
		return available
	case "ready":
		return ready
	case "complete":
		return complete
	case "rollout":
		return rolledOut
	default:
		return statusCondition(name)
	}
}

func as[T any](u *unstructured.Unstructured) (*T, error) {
	var t T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t); err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", lower(u.GetKind()), u.GetName(), err)
	}
	return &t, nil
}

func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// rolledOut is `kubectl rollout status`: the controller saw the latest spec,
// every replica runs it and is available.
func rolledOut(u *unstructured.Unstructured) (verdict, error) {
	switch u.GetKind() {
	case "Deployment":
		d, err := as[appsv1.Deployment](u)
		if err != nil {
			return verdict{}, err
		}
		return deploymentRollout(d)
	case "StatefulSet":
		s, err := as[appsv1.StatefulSet](u)
		if err != nil {
			return verdict{}, err
		}
		want := replicasOf(s.Spec.Replicas)
		st := s.Status
		switch {
		case s.Generation > st.ObservedGeneration:
			return verdict{detail: "waiting for the controller to observe the new spec"}, nil
		case st.UpdatedReplicas < want && st.UpdateRevision != st.CurrentRevision:
			return verdict{detail: fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)}, nil
		case st.ReadyReplicas < want:
			return verdict{detail: fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)}, nil
		}
		return verdict{met: true, detail: fmt.Sprintf("%d/%d replicas", st.ReadyReplicas, want)}, nil
	case "DaemonSet":
		d, err := as[appsv1.DaemonSet](u)
		if err != nil {
			return verdict{}, err
		}
		st := d.Status
		switch {
		case d.Generation > st.ObservedGeneration:
			return verdict{detail: "waiting for the controller to observe the new spec"}, nil
		case st.UpdatedNumberScheduled < st.DesiredNumberScheduled || st.NumberAvailable < st.DesiredNumberScheduled:
			return verdict{detail: fmt.Sprintf("%d of %d pods updated and available", st.NumberAvailable, st.DesiredNumberScheduled)}, nil
		}
		return verdict{met: true, detail: fmt.Sprintf("%d/%d pods", st.NumberAvailable, st.DesiredNumberScheduled)}, nil
	}
	return verdict{}, fmt.Errorf("condition rollout applies to deployments, statefulsets and daemonsets, not %s", lower(u.GetKind()))
}

func deploymentRollout(d *appsv1.Deployment) (verdict, error) {
	want := replicasOf(d.Spec.Replicas)
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return verdict{detail: "waiting for the controller to observe the new spec"}, nil
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return verdict{}, fmt.Errorf("deployment/%s exceeded its progress deadline: %s", d.Name, c.Message)
		}
	}
	switch {
	case st.UpdatedReplicas < want:
		return verdict{detail: fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)}, nil
	case st.Replicas > st.UpdatedReplicas:
		return verdict{detail: fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)}, nil
	case st.AvailableReplicas < want:
		return verdict{detail: fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, want)}, nil
	}
	return verdict{met: true, detail: fmt.Sprintf("%d/%d replicas", st.AvailableReplicas, want)}, nil
}

// available: for deployments, every desired replica is available for the
// current spec; for anything else, an Available condition that is True.
func available(u *unstructured.Unstructured) (verdict, error) {
	if u.GetKind() != "Deployment" {
		return statusCondition("Available")(u)
	}
	d, err := as[appsv1.Deployment](u)
	if err != nil {
		return verdict{}, err
	}
	want := replicasOf(d.Spec.Replicas)
	st := d.Status
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return verdict{}, fmt.Errorf("deployment/%s exceeded its progress deadline: %s", d.Name, c.Message)
		}
	}
	detail := fmt.Sprintf("%d/%d replicas", st.AvailableReplicas, want)
	met := d.Generation <= st.ObservedGeneration && st.AvailableReplicas >= want && st.UpdatedReplicas >= want
	return verdict{met: met, detail: detail}, nil
}

// ready: pods and nodes by their Ready condition; Deployments and
// ReplicaSets by ready replicas; every other kind (StatefulSets, DaemonSets,
// Jobs, PVCs, custom resources) by the kstatus convention.
func ready(u *unstructured.Unstructured) (verdict, error) {
	switch u.GetKind() {
	case "Deployment", "ReplicaSet":
		want, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		if _, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); !found {
			want = 1
		}
		got, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		met := got >= want && observed >= u.GetGeneration()
		return verdict{met: met, detail: fmt.Sprintf("%d/%d replicas ready", got, want)}, nil
	case "Pod", "Node":
		return statusCondition("Ready")(u)
	}
	return kstatusReady(u)
}

// complete: a Job's Complete condition; its Failed condition fails the wait.
func complete(u *unstructured.Unstructured) (verdict, error) {
	if u.GetKind() == "Job" {
		j, err := as[batchv1.Job](u)
		if err != nil {
			return verdict{}, err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == "True" {
				return verdict{}, fmt.Errorf("job/%s failed: %s: %s", j.Name, c.Reason, c.Message)
			}
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == "True" {
				return verdict{met: true, detail: fmt.Sprintf("%d succeeded", j.Status.Succeeded)}, nil
			}
		}
		return verdict{detail: fmt.Sprintf("%d succeeded, %d active", j.Status.Succeeded, j.Status.Active)}, nil
	}
	return statusCondition("Complete")(u)
}

// statusCondition matches .status.conditions[].type case-insensitively,
// met when its status is "True".
func statusCondition(name string) condition {
	return func(u *unstructured.Unstructured) (verdict, error) {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			t, _ := m["type"].(string)
			if !strings.EqualFold(t, name) {
				continue
			}
			s, _ := m["status"].(string)
			detail := t + "=" + s
			if r, _ := m["reason"].(string); r != "" && s != "True" {
				detail += " (" + r + ")"
			}
			return verdict{met: s == string(metav1.ConditionTrue), detail: detail}, nil
		}
		return verdict{detail: "no " + name + " condition yet"}, nil
	}
}

// beingDeleted is the error for an applied object that has a deletion
// timestamp: it will go once its finalizers are done, never become ready.
func beingDeleted(u *unstructured.Unstructured, condName string) error {
	ts := u.GetDeletionTimestamp()
	if ts == nil {
		return nil
	}
	return fmt.Errorf("%s/%s is being deleted (since %s, finalizers %v), so it will not become %s; wait until it is gone and apply again",
		lower(u.GetKind()), u.GetName(), ts.UTC().Format(time.RFC3339), u.GetFinalizers(), condName)
}

// waitOptions tunes waitFor.
type waitOptions struct {
	cond      condition // nil: wait until no object is left ("deleted")
	condName  string    // for messages: "available", "rollout", ...
	failFast  bool      // watch the pods of selected workloads for failures
	logs      providers.Logs
	allowNone bool // with a selector, zero objects count as met (deleted)
	// applied is set when the objects were just applied (a step's own
	// readiness wait): one that is being deleted, or gone, will never be
	// ready, so the wait fails instead of waiting for it to come back.
	applied bool
}

// waitFor watches the selection until every selected object meets the
// condition (at least one must exist, unless waiting for deletion). It
// returns what it observed: "deployment/web available (2/2 replicas)".
// Workload waits with failFast end early with a *PodFailure.
func (c *client) waitFor(ctx context.Context, s selection, o waitOptions) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pods := c.newPodFailureWatcher(ctx, cancel, s.namespace)
	var observed, last string
	check := func(objs []*unstructured.Unstructured) (bool, error) {
		if o.cond == nil {
			if len(objs) == 0 {
				observed = s.String() + " deleted"
				return true, nil
			}
			last = fmt.Sprintf("%s still present", plural(len(objs), s.target.kindName()))
			o.logs.Say("%s: %s", s, last)
			return false, nil
		}
		if len(objs) == 0 && o.applied {
			return false, fmt.Errorf("%s was deleted while ansflow waited for it to be %s (something else deleted it); apply again", s, o.condName)
		}
		if len(objs) == 0 {
			last = "does not exist yet"
			o.logs.Say("%s: %s", s, last)
			return false, nil
		}
		details := make([]string, 0, len(objs))
		allMet := true
		for _, u := range objs {
			if o.applied {
				if err := beingDeleted(u, o.condName); err != nil {
					return false, err
				}
			}
			if o.failFast {
				if sel := podSelector(u); sel != "" {
					pods.watchSelector(lower(u.GetKind())+"/"+u.GetName(), sel)
				}
			}
			v, err := o.cond(u)
			if err != nil {
				return false, err
			}
			allMet = allMet && v.met
			details = append(details, fmt.Sprintf("%s/%s %s", lower(u.GetKind()), u.GetName(), v.detail))
		}
		last = strings.Join(details, ", ")
		if !allMet {
			o.logs.Say("%s", last)
			return false, nil
		}
		if s.name != "" {
			observed = fmt.Sprintf("%s/%s %s (%s)", s.target.kindName(), s.name, o.condName, strings.TrimPrefix(details[0], lower(objs[0].GetKind())+"/"+objs[0].GetName()+" "))
		} else {
			observed = fmt.Sprintf("%s matching %s %s: %s", plural(len(objs), s.target.kindName()), s.selector, o.condName, last)
		}
		return true, nil
	}
	err := c.watchUntil(ctx, s, check)
	if err == nil {
		return observed, nil
	}
	var pf *PodFailure
	if errors.As(err, &pf) {
		return "", err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		what := o.condName
		if what == "" {
			what = "deleted"
		}
		if last == "" {
			last = "nothing observed"
		}
		msg := fmt.Sprintf("timed out waiting for %s to be %s; last seen: %s", s, what, last)
		if i := strings.Index(err.Error(), " (the last request failed: "); i >= 0 {
			msg += err.Error()[i:]
		}
		return "", errors.New(msg)
	}
	return "", err
}

// podSelector returns a workload's pod selector as a label selector string.
func podSelector(u *unstructured.Unstructured) string {
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job":
	default:
		return ""
	}
	m, found, _ := unstructured.NestedMap(u.Object, "spec", "selector")
	if !found {
		return ""
	}
	var ls metav1.LabelSelector
	if runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls) != nil {
		return ""
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil || sel.Empty() {
		return ""
	}
	return sel.String()
}
