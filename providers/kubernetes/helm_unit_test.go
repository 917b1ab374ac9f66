package kubernetes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/action"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ansflow/ansflow/providers"
)

// testChart is a chart a test writes: a Deployment and a Service named by a
// helper template, plus `configMaps` ConfigMaps (to make charts of any size).
type testChart struct {
	name, version string
	configMaps    int
}

// write puts the chart in dir/name and returns its path.
func (c testChart) write(t testing.TB, dir string) string {
	t.Helper()
	root := filepath.Join(dir, c.name)
	files := map[string]string{
		"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: \"1.0\"\n", c.name, c.version),
		"values.yaml": fmt.Sprintf(`replicas: 1
image: registry.invalid/app:1
version: "1"
fault: ""
configMaps: %d
`, c.configMaps),
		".helmignore": "*.bak\n",
		"templates/_helpers.tpl": `{{- define "app.name" -}}{{ .Release.Name }}-app{{- end }}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.name" . }}
  labels: {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {{- include "app.labels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.labels" . | nindent 8 }}
        {{- with .Values.fault }}
        ansflow-test/fault: {{ . }}
        {{- end }}
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
        env:
        - name: VERSION
          value: {{ .Values.version | quote }}
        ports:
        - containerPort: 8080
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.name" . }}
  labels: {{- include "app.labels" . | nindent 4 }}
spec:
  selector: {{- include "app.labels" . | nindent 4 }}
  ports:
  - port: 80
    targetPort: 8080
`,
		"templates/configmaps.yaml": `{{- range $i := until (int .Values.configMaps) }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.name" $ }}-{{ $i }}
data:
  index: {{ $i | quote }}
{{- end }}
`,
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// helmInputs builds helm_release inputs as the engine would.
func helmInputs(t testing.TB, given map[string]cty.Value) cty.Value {
	t.Helper()
	return inputs(t, "helm_release", given)
}

func TestChartSourceOCIRef(t *testing.T) {
	tests := []struct {
		chart, version, want, wantErr string
	}{
		{"oci://127.0.0.1:5000/charts/app", "0.1.0", "127.0.0.1:5000/charts/app:0.1.0", ""},
		{"oci://127.0.0.1:5000/charts/app:0.2.0", "", "127.0.0.1:5000/charts/app:0.2.0", ""},
		{"oci://127.0.0.1:5000/charts/app:0.2.0", "0.2.0", "127.0.0.1:5000/charts/app:0.2.0", ""},
		{"oci://127.0.0.1:5000/charts/app", "1.0.0+build.1", "127.0.0.1:5000/charts/app:1.0.0_build.1", ""},
		{"oci://127.0.0.1:5000/charts/app:0.2.0", "0.3.0", "", "has the tag 0.2.0 but version is \"0.3.0\""},
		{"oci://127.0.0.1:5000/charts/app", "", "", "set version"},
	}
	for _, tt := range tests {
		t.Run(tt.chart+"@"+tt.version, func(t *testing.T) {
			got, err := chartSource{ref: tt.chart, version: tt.version}.ociRef()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5001": true, "[::1]:5000": true, "127.0.0.1": true,
		"registry.example:5000": false, "10.0.0.1:5000": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRegistryMustBeTheChartsRegistry(t *testing.T) {
	src := chartSource{ref: "oci://127.0.0.1:5000/charts/app", reg: ociCredentials{address: "127.0.0.1:5001"}}
	if _, err := src.registryClient(); err == nil || !strings.Contains(err.Error(), "is not the chart's registry 127.0.0.1:5000") {
		t.Fatalf("got %v, want an error naming both registries", err)
	}
}

func TestLocalChartDigest(t *testing.T) {
	dir := t.TempDir()
	root := testChart{name: "app", version: "0.1.0"}.write(t, dir)
	src := chartSource{ref: "app", path: root}
	d1, err := src.digest()
	if err != nil {
		t.Fatal(err)
	}
	// An ignored file does not change the chart; a template does.
	if err := os.WriteFile(filepath.Join(root, "notes.bak"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, _ := src.digest(); d != d1 {
		t.Errorf("a file .helmignore excludes changed the digest")
	}
	if err := os.WriteFile(filepath.Join(root, "templates", "extra.yaml"), []byte("# nothing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, _ := src.digest(); d == d1 {
		t.Errorf("a new template did not change the digest")
	}
	src.version = "9.9.9"
	if _, err := src.digest(); err == nil || !strings.Contains(err.Error(), "is version 0.1.0, not 9.9.9") {
		t.Errorf("version mismatch: got %v", err)
	}
	if _, err := (chartSource{ref: "missing", path: filepath.Join(dir, "missing")}).digest(); err == nil || !strings.Contains(err.Error(), "relative to the pipeline directory") {
		t.Errorf("missing chart: got %v", err)
	}
}

func TestHelmValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("replicas: 2\nimage: a\nnested: {p: 1, q: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("image: b\nnested: {q: 3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := attrs{helmInputs(t, map[string]cty.Value{
		"name": cty.StringVal("r"), "chart": cty.StringVal("c"),
		"values_files": cty.ListVal([]cty.Value{cty.StringVal("a.yaml"), cty.StringVal("b.yaml")}),
		"values":       cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(4), "nested": cty.ObjectVal(map[string]cty.Value{"z": cty.True})}),
	})}
	got, err := helmValues(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"replicas": float64(4), "image": "b", "nested": map[string]any{"p": float64(1), "q": float64(3), "z": true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged values (-want +got):\n%s", diff)
	}
	hashes, err := valuesFileHashes(dir, in)
	if err != nil || len(hashes) != 2 || hashes["a.yaml"] == hashes["b.yaml"] {
		t.Errorf("values file hashes: %v, %v", hashes, err)
	}
}

func TestManifestChanges(t *testing.T) {
	before, err := releaseObjects(`---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: old}
data: {a: "1"}
---
# only a comment
`, "ns1")
	if err != nil {
		t.Fatal(err)
	}
	after, err := releaseObjects(`---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 8080}], type: NodePort}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: new}
`, "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if got := objectNames(before); !cmp.Equal(got, []string{"service/web", "configmap/old"}) {
		t.Errorf("objects: %v", got)
	}
	want := []providers.Drift{
		{Path: "service/web.spec.ports[0].port", Before: "80", After: "8080"},
		{Path: "service/web.spec.type", Before: "(absent)", After: "NodePort"},
		{Path: "configmap/new", Before: "(absent)", After: "created"},
		{Path: "configmap/old", Before: "exists", After: "deleted"},
	}
	if diff := cmp.Diff(want, manifestChanges(before, after)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if got := manifestChanges(before, before); len(got) != 0 {
		t.Errorf("a manifest compared with itself: %v", got)
	}
}

func TestHelmReleaseValidate(t *testing.T) {
	s := &helmReleaseStep{}
	tests := []struct {
		given   map[string]cty.Value
		wantErr string
	}{
		{map[string]cty.Value{"name": cty.StringVal("Bad_Name"), "chart": cty.StringVal("c")}, "not a valid release name"},
		{map[string]cty.Value{"name": cty.StringVal("ok"), "chart": cty.StringVal("c"), "values": cty.StringVal("x")}, "values must be an object"},
		{map[string]cty.Value{"name": cty.StringVal("ok"), "chart": cty.StringVal("oci://127.0.0.1:5000/c")}, "set version"},
		{map[string]cty.Value{"name": cty.StringVal("ok"), "chart": cty.StringVal("./c")}, ""},
	}
	for _, tt := range tests {
		err := s.Validate(helmInputs(t, tt.given))
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Validate(%v) = %v, want %q", tt.given, err, tt.wantErr)
		}
	}
}

func TestSecretValuesAreMasked(t *testing.T) {
	before, _ := releaseObjects("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: b2xk}\nstringData: {token: t1}\n", "ns")
	after, _ := releaseObjects("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: bmV3}\nstringData: {token: t2}\n", "ns")
	for _, d := range manifestChanges(before, after) {
		if strings.Contains(d.Before+d.After, "b2xk") || strings.Contains(d.Before+d.After, "bmV3") || strings.Contains(d.Before+d.After, "t1") {
			t.Errorf("a secret's value shows in the plan: %+v", d)
		}
	}
	if got := len(manifestChanges(before, after)); got != 2 {
		t.Errorf("got %d changes, want 2 (password and token)", got)
	}
	// Live: data differs (masked); stringData is never read back (no drift).
	live := map[objectKey]*unstructured.Unstructured{keyOf(before[0]): {Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s", "namespace": "ns"}, "data": map[string]any{"password": "Y2hhbmdlZA==", "token": "dDE="}}}}
	want := []providers.Drift{{Path: "secret/s.data.password", Before: "(sensitive value)", After: "(sensitive value)"}}
	if diff := cmp.Diff(want, liveDrift(before, live)); diff != "" {
		t.Errorf("live drift (-want +got):\n%s", diff)
	}
}

func TestReleaseError(t *testing.T) {
	mem := driver.NewMemory()
	mem.SetNamespace("ns")
	hc := &helmConfig{cfg: &action.Configuration{Releases: storage.Init(mem)}, c: &client{}, ns: "ns"}
	stored := func(v int, st rcommon.Status, desc string) *release.Release {
		r := &release.Release{Name: "web", Namespace: "ns", Version: v, Info: &release.Info{Status: st, Description: desc}}
		if err := hc.cfg.Releases.Create(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	s := &helmReleaseStep{}
	crash := &PodFailure{Owner: "deployment/web", Pod: "web-1", Container: "web", Reason: "CrashLoopBackOff"}
	ctxErr := errors.New("context canceled")

	// A failed first install that Helm uninstalled, and one that failed before anything was stored.
	rel := &release.Release{Name: "web", Version: 1}
	got := s.releaseError(hc, "web", rel, fmt.Errorf("release web failed, and has been uninstalled due to rollback-on-failure being set: %w", ctxErr), crash, true).Error()
	if want := "release web revision 1 failed: deployment/web: pod web-1: container \"web\" is in CrashLoopBackOff\natomic: the release was uninstalled again"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = s.releaseError(hc, "web", rel, errors.New("parse error in deployment.yaml"), nil, true).Error()
	if want := "release web revision 1 failed: parse error in deployment.yaml"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := s.releaseError(hc, "web", nil, errors.New("no chart"), nil, true).Error(); got != "release web failed: no chart" {
		t.Errorf("got %q", got)
	}

	// A failed upgrade rolled back by Helm.
	stored(1, rcommon.StatusSuperseded, "Install complete")
	failed := stored(2, rcommon.StatusFailed, "Upgrade failed")
	stored(3, rcommon.StatusDeployed, "Rollback to 1")
	got = s.releaseError(hc, "web", failed, ctxErr, crash, true).Error()
	if !strings.HasSuffix(got, "\natomic: rolled back, now revision 3 (Rollback to 1)") || !strings.HasPrefix(got, "release web revision 2 failed: deployment/web: pod web-1") {
		t.Errorf("rolled back: %q", got)
	}
	got = s.releaseError(hc, "web", failed, errors.New("another operation (install/upgrade/rollback) is in progress"), nil, false).Error()
	if !strings.Contains(got, "`helm rollback web -n ns` ends it") {
		t.Errorf("pending: %q", got)
	}
}
