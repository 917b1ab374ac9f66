package kubernetes

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pickPod finds the pod a k8s_exec / k8s_logs step works on: the named pod,
// or, for a selector, a running and ready pod (the oldest, for stability);
// with needReady false any pod will do when none is ready (logs of a crashed pod).
func (c *client) pickPod(ctx context.Context, ns, name, selector string, needReady bool) (*corev1.Pod, error) {
	pods := c.typed.CoreV1().Pods(ns)
	if (name == "") == (selector == "") {
		return nil, fmt.Errorf("set exactly one of pod or pod_selector")
	}
	if name != "" {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, c.apiError(err)
		}
		return p, nil
	}
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, c.apiError(err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreationTimestamp.Equal(&items[j].CreationTimestamp) {
			return items[i].CreationTimestamp.Before(&items[j].CreationTimestamp)
		}
		return items[i].Name < items[j].Name
	})
	for i := range items {
		if podReady(&items[i]) {
			return &items[i], nil
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no pod matches %q in namespace %s", selector, ns)
	}
	if !needReady {
		return &items[0], nil
	}
	return nil, fmt.Errorf("none of the %s matching %q in namespace %s is ready (wait for it first, e.g. with k8s_wait condition = \"ready\")", plural(len(items), "pod"), selector, ns)
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerOf returns the requested container, or the pod's default one
// (annotation kubectl.kubernetes.io/default-container, else the first).
func containerOf(p *corev1.Pod, want string) (string, error) {
	if want != "" {
		for _, c := range p.Spec.Containers {
			if c.Name == want {
				return want, nil
			}
		}
		names := make([]string, 0, len(p.Spec.Containers))
		for _, c := range p.Spec.Containers {
			names = append(names, c.Name)
		}
		return "", fmt.Errorf("pod %s has no container %q (it has %v)", p.Name, want, names)
	}
	if d := p.Annotations["kubectl.kubernetes.io/default-container"]; d != "" {
		return d, nil
	}
	if len(p.Spec.Containers) == 0 {
		return "", fmt.Errorf("pod %s has no containers", p.Name)
	}
	return p.Spec.Containers[0].Name, nil
}
