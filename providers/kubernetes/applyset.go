package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ansflow/ansflow/providers"
)

// deployPrivate is kept in state: exactly what the step applied, in the
// order it applied it, so that Delete removes those objects and an update
// prunes the ones it no longer has. It is the step's applied set, as an
// ApplySet's parent keeps it for kubectl.
type deployPrivate struct {
	Objects []appliedObject `json:"objects"`
}

// appliedObject is one member of the applied set.
type appliedObject struct {
	objectRef
	UID string `json:"uid,omitempty"`
	// Hash is of the object as sent, so that Read can tell drift (the live
	// object changed) from an edit of the manifest files (the sent one did).
	Hash string `json:"hash,omitempty"`
	// Adopted: the object existed before this step first applied it. Such
	// objects are never deleted by the step, neither pruned nor destroyed.
	Adopted bool `json:"adopted,omitempty"`
}

func readPrivate(raw json.RawMessage) (deployPrivate, error) {
	var p deployPrivate
	if len(raw) == 0 {
		return p, nil
	}
	err := json.Unmarshal(raw, &p)
	return p, err
}

func (p deployPrivate) byKey() map[objectKey]appliedObject {
	m := make(map[objectKey]appliedObject, len(p.Objects))
	for _, o := range p.Objects {
		m[o.key()] = o
	}
	return m
}

// applyOrder ranks kinds as Helm installs them, with Namespaces and
// CustomResourceDefinitions first: what other objects need exists before
// them. Kinds not listed (custom resources) come last; the manifest's own
// order is kept within a rank.
var applyOrder = func() map[string]int {
	kinds := []string{
		"Namespace", "CustomResourceDefinition", "NetworkPolicy", "ResourceQuota", "LimitRange",
		"PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap", "StorageClass",
		"PersistentVolume", "PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding",
		"Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicationController",
		"ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
		"IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	}
	m := make(map[string]int, len(kinds))
	for i, k := range kinds {
		m[k] = i + 1
	}
	return m
}()

func rankOf(u *unstructured.Unstructured) int {
	if r, ok := applyOrder[u.GetKind()]; ok {
		return r
	}
	return len(applyOrder) + 1
}

// sortForApply orders objs for applying, stably.
func sortForApply(objs []*unstructured.Unstructured) {
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rankOf(a) - rankOf(b) })
}

// isFoundation: applied, and waited for, before everything else.
func isFoundation(u *unstructured.Unstructured) bool {
	k := u.GetKind()
	return k == "Namespace" || (k == "CustomResourceDefinition" && u.GroupVersionKind().Group == "apiextensions.k8s.io")
}

// applyObjects applies objs in dependency order: Namespaces and CRDs first,
// then, once every new CRD is Established and its kinds are discoverable,
// the rest. It returns what the API server answered and the applied set,
// as far as it got.
func (c *client) applyObjects(ctx context.Context, objs []*unstructured.Unstructured, ns string, prior map[objectKey]appliedObject, logs providers.Logs) ([]*unstructured.Unstructured, []appliedObject, error) {
	sortForApply(objs)
	split := 0
	for split < len(objs) && isFoundation(objs[split]) {
		split++
	}
	var applied []*unstructured.Unstructured
	var set []appliedObject
	apply := func(batch []*unstructured.Unstructured) error {
		if err := c.defaultNamespaces(batch, ns); err != nil {
			return err
		}
		existing, err := c.existing(ctx, batch, prior)
		if err != nil {
			return err
		}
		for _, o := range batch {
			old, known := prior[refOf(o).key()]
			existed := known || existing[refOf(o).key()]
			live, err := c.serverSideApply(ctx, o, logs, false)
			if err != nil {
				return err
			}
			fmt.Fprintf(logs.Stdout, "%s applied (generation %d)\n", refOf(live), live.GetGeneration())
			applied = append(applied, live)
			set = append(set, record(o, live, old, known, existed))
		}
		return nil
	}
	if err := apply(objs[:split]); err != nil {
		return applied, set, err
	}
	if err := c.waitCRDs(ctx, applied, objs[split:], logs); err != nil {
		return applied, set, err
	}
	err := apply(objs[split:])
	return applied, set, err
}

// existing reports which objects of batch that are new to the applied set
// exist already: one list per kind and namespace (a get for a single one).
func (c *client) existing(ctx context.Context, batch []*unstructured.Unstructured, prior map[objectKey]appliedObject) (map[objectKey]bool, error) {
	type group struct {
		t    target
		ns   string
		keys map[objectKey]bool
	}
	groups := map[string]*group{}
	var order []string
	for _, o := range batch {
		k := refOf(o).key()
		if _, known := prior[k]; known {
			continue
		}
		t, err := c.mappingFor(o.GroupVersionKind())
		if err != nil {
			return nil, err
		}
		id := t.mapping.Resource.String() + "/" + o.GetNamespace()
		if groups[id] == nil {
			groups[id] = &group{t: t, ns: o.GetNamespace(), keys: map[objectKey]bool{}}
			order = append(order, id)
		}
		groups[id].keys[k] = true
	}
	out := map[objectKey]bool{}
	for _, id := range order {
		g := groups[id]
		if len(g.keys) == 1 {
			for k := range g.keys {
				u, err := c.getRef(ctx, objectRef{APIVersion: g.t.mapping.GroupVersionKind.GroupVersion().String(), Kind: k.Kind, Namespace: k.Namespace, Name: k.Name})
				if err != nil {
					return nil, err
				}
				out[k] = u != nil
			}
			continue
		}
		list, err := c.resource(g.t, g.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", g.t.mapping.Resource.Resource, c.apiError(err))
		}
		for k := range g.keys {
			for _, u := range list.Items {
				if u.GetName() == k.Name {
					out[k] = true
				}
			}
		}
	}
	return out, nil
}

// record is the applied-set entry of an object just applied. old is its
// entry from the last apply, if known; existed says whether it was there
// before this apply (asked only for objects new to the set).
func record(sent, live *unstructured.Unstructured, old appliedObject, known, existed bool) appliedObject {
	r := appliedObject{objectRef: refOf(live), UID: string(live.GetUID()), Hash: objectHash(sent)}
	switch {
	case known && old.UID != "" && old.UID != r.UID:
		// Re-created since the last apply: by this one (it was deleted
		// outside ansflow), or by someone else, and then it is theirs.
		r.Adopted = !createdByThisApply(live)
	case known:
		r.Adopted = old.Adopted
	default:
		r.Adopted = existed
	}
	return r
}

// createdByThisApply reports whether ansflow's apply entry in the managed
// fields dates from the object's creation, as it does when the apply
// created it.
func createdByThisApply(u *unstructured.Unstructured) bool {
	created := u.GetCreationTimestamp()
	for _, mf := range u.GetManagedFields() {
		if mf.Manager == fieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Time != nil {
			return mf.Time.Equal(&created)
		}
	}
	return false
}

func objectHash(u *unstructured.Unstructured) string {
	b, _ := json.Marshal(u.Object)
	return hashBytes(b)
}

// waitCRDs waits until every CRD just applied is Established, and then
// until the kinds of later objects that those CRDs define are discoverable.
func (c *client) waitCRDs(ctx context.Context, applied, later []*unstructured.Unstructured, logs providers.Logs) error {
	defined := map[schema.GroupKind]bool{}
	established := statusCondition("Established")
	for _, crd := range applied {
		if !isFoundation(crd) || crd.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		defined[schema.GroupKind{Group: group, Kind: kind}] = true
		if v, _ := established(crd); v.met {
			continue
		}
		t, err := c.mappingFor(crd.GroupVersionKind())
		if err != nil {
			return err
		}
		observed, err := c.waitFor(ctx, selection{target: t, name: crd.GetName()}, waitOptions{cond: established, condName: "established", logs: logs})
		if err != nil {
			return err
		}
		fmt.Fprintln(logs.Stdout, observed)
	}
	if len(defined) == 0 {
		return nil
	}
	c.mapper.Reset()
	for _, o := range later {
		gvk := o.GroupVersionKind()
		if defined[gvk.GroupKind()] {
			if err := c.waitDiscoverable(ctx, gvk); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitDiscoverable waits until discovery serves gvk. Discovery has no
// watch; it is asked again with a growing pause, for as long as ctx allows.
func (c *client) waitDiscoverable(ctx context.Context, gvk schema.GroupVersionKind) error {
	pause := 100 * time.Millisecond
	for {
		_, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err == nil {
			return nil
		}
		if !meta.IsNoMatchError(err) {
			return c.apiError(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server does not serve %s yet, although its CRD is established: %w", gvk, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
		c.mapper.Reset()
	}
}

// prune deletes the members of the old applied set that the new one no
// longer has, last applied first, never one the step did not create.
func (c *client) prune(ctx context.Context, old deployPrivate, now []appliedObject, why string, logs providers.Logs) error {
	keep := map[objectKey]bool{}
	for _, r := range now {
		keep[r.key()] = true
	}
	for i := len(old.Objects) - 1; i >= 0; i-- {
		r := old.Objects[i]
		if keep[r.key()] {
			continue
		}
		if err := c.deleteOwned(ctx, r, metav1.DeletePropagationBackground, why, logs); err != nil {
			return err
		}
	}
	return nil
}

// deleteOwned deletes a member of the applied set and waits until it is
// gone, unless the step did not create it or it was replaced outside
// ansflow by another object of the same name (the deletion is bound to the
// recorded UID). Either way it says what it did.
func (c *client) deleteOwned(ctx context.Context, r appliedObject, policy metav1.DeletionPropagation, why string, logs providers.Logs) error {
	if r.Adopted {
		fmt.Fprintf(logs.Stdout, "%s left in place (%s, but it existed before this step applied it)\n", r.objectRef, why)
		return nil
	}
	err := c.deleteRef(ctx, r.objectRef, r.UID, policy)
	if apierrors.IsConflict(err) {
		fmt.Fprintf(logs.Stdout, "%s left in place (%s, but it was re-created outside ansflow)\n", r.objectRef, why)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(logs.Stdout, "%s deleted (%s)\n", r.objectRef, why)
	return nil
}

// deleteRef deletes one object, only if it still has uid (when given), and
// waits until it is gone; absent is success. A UID mismatch is a Conflict.
func (c *client) deleteRef(ctx context.Context, r objectRef, uid string, policy metav1.DeletionPropagation) error {
	gv, err := schema.ParseGroupVersion(r.APIVersion)
	if err != nil {
		return err
	}
	t, err := c.mappingFor(gv.WithKind(r.Kind))
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if uid != "" {
		u := types.UID(uid)
		opts.Preconditions = &metav1.Preconditions{UID: &u}
	}
	err = c.resource(t, r.Namespace).Delete(ctx, r.Name, opts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsConflict(err) {
		return err
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", r, c.apiError(err))
	}
	_, err = c.waitFor(ctx, selection{target: t, namespace: r.Namespace, name: r.Name}, waitOptions{condName: "deleted"})
	return err
}
