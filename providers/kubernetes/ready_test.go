package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReady(t *testing.T) {
	tests := []struct {
		name    string
		obj     string
		met     bool
		detail  string // substring
		failure string // substring of the error, when the wait must fail
	}{
		{"statefulset rolling", `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 2},
			spec: {replicas: 2}, status: {observedGeneration: 2, replicas: 2, readyReplicas: 1, currentReplicas: 2, updatedReplicas: 2}}`, false, "Ready: 1/2", ""},
		{"statefulset ready", `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 2},
			spec: {replicas: 2}, status: {observedGeneration: 2, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, availableReplicas: 2}}`, true, "", ""},
		{"daemonset not observed", `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent, generation: 3},
			status: {observedGeneration: 2}}`, false, "", ""},
		{"job failed", `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, generation: 1},
			spec: {completions: 1}, status: {failed: 1, conditions: [{type: Failed, status: "True"}]}}`, false, "", "job/migrate failed"},
		{"job complete", `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, generation: 1},
			spec: {completions: 1}, status: {succeeded: 1, conditions: [{type: Complete, status: "True"}]}}`, true, "", ""},
		{"pvc pending", `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, status: {phase: Pending}}`, false, "", ""},
		{"pvc bound", `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, status: {phase: Bound}}`, true, "", ""},
		{"custom resource with Ready", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, generation: 1},
			status: {observedGeneration: 1, conditions: [{type: Ready, status: "False", reason: Provisioning, message: waiting for a bucket}]}}`, false, "waiting for a bucket", ""},
		{"custom resource stalled", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, generation: 1},
			status: {conditions: [{type: Stalled, status: "True", message: quota exceeded}]}}`, false, "", "widget/w failed: quota exceeded"},
		{"custom resource without status", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}`, true, "", ""},
		{"node keeps its Ready condition", `{apiVersion: v1, kind: Node, metadata: {name: n}, status: {conditions: [{type: Ready, status: "True"}]}}`, true, "Ready=True", ""},
		{"deployment by ready replicas", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 1},
			spec: {replicas: 2}, status: {observedGeneration: 1, readyReplicas: 1}}`, false, "1/2 replicas ready", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ready(obj(t, tt.obj))
			if tt.failure != "" {
				if err == nil || !strings.Contains(err.Error(), tt.failure) {
					t.Fatalf("err = %v, want one containing %q", err, tt.failure)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.met != tt.met || !strings.Contains(v.detail, tt.detail) {
				t.Errorf("got met=%v detail=%q, want met=%v detail containing %q", v.met, v.detail, tt.met, tt.detail)
			}
		})
	}
}
