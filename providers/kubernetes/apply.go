package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ansflow/ansflow/providers"
)

const (
	fieldManager      = "ansflow"
	scaleFieldManager = "ansflow-scale"
)

// yieldedFields are fields that other controllers legitimately own next to
// ansflow (an HPA, a k8s_scale step, kubectl scale). When one of them holds
// such a field, ansflow leaves it to them instead of taking it back.
var yieldedFields = map[string]bool{".spec.replicas": true}

// conflict is one field another manager owns with a different value.
type conflict struct {
	field   string // ".spec.replicas"
	manager string // as the API server reports it: `conflict with "kubectl" using apps/v1`
}

// serverSideApply applies obj under field manager "ansflow". It never forces
// first: on a conflict, fields in yieldedFields are dropped from the request
// (and the log says so); other conflicting fields are ansflow's by
// configuration and are taken back with force, also logged. dryRun asks the
// API server what the result would be without persisting it.
func (c *client) serverSideApply(ctx context.Context, obj *unstructured.Unstructured, logs providers.Logs, dryRun bool) (*unstructured.Unstructured, error) {
	t, err := c.mappingFor(obj.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if !t.namespaced() {
		obj.SetNamespace("")
	}
	ri := c.resource(t, obj.GetNamespace())
	opts := metav1.ApplyOptions{FieldManager: fieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	obj = obj.DeepCopy()
	for attempt := 0; ; attempt++ {
		live, err := ri.Apply(ctx, obj.GetName(), obj, opts)
		if err == nil {
			return live, nil
		}
		conflicts := conflictsOf(err)
		if len(conflicts) == 0 || attempt >= 2 {
			return nil, fmt.Errorf("applying %s: %w", refOf(obj), c.apiError(err))
		}
		for _, cf := range conflicts {
			if yieldedFields[cf.field] && removeField(obj, cf.field) {
				if !dryRun {
					fmt.Fprintf(logs.Stderr, "%s: leaving %s to %s (another manager owns it; not forcing)\n", refOf(obj), strings.TrimPrefix(cf.field, "."), cf.manager)
				}
				continue
			}
			if !dryRun {
				fmt.Fprintf(logs.Stderr, "%s: taking %s back from %s (it is set in this step)\n", refOf(obj), strings.TrimPrefix(cf.field, "."), cf.manager)
			}
			opts.Force = true
		}
	}
}

// conflictsOf extracts the field conflicts of a failed apply.
func conflictsOf(err error) []conflict {
	if !apierrors.IsConflict(err) {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var out []conflict
	for _, cause := range status.Status().Details.Causes {
		if cause.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		mgr := strings.TrimPrefix(cause.Message, "conflict with ")
		if i := strings.Index(mgr, " using "); i >= 0 {
			mgr = mgr[:i]
		}
		out = append(out, conflict{field: cause.Field, manager: mgr})
	}
	return out
}

// removeField drops a simple dotted field path (".spec.replicas") from obj;
// it reports false for paths into lists, which it cannot address.
func removeField(obj *unstructured.Unstructured, path string) bool {
	if strings.ContainsAny(path, "[]=") {
		return false
	}
	parts := strings.Split(strings.TrimPrefix(path, "."), ".")
	if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, parts...); !found {
		return false
	}
	unstructured.RemoveNestedField(obj.Object, parts...)
	return true
}
