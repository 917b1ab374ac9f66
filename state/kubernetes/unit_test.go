package kubernetes

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/storetest"
)

func TestWorkspaceKey(t *testing.T) {
	tests := []struct {
		ws, want string
	}{
		{"default", "default"},
		{"prod-eu", "prod-eu"},
		{"Prod", "prod-"},   // prefix; a hash follows
		{"my_ws", "my-ws-"}, // '_' is not allowed in names
		{"-x", "x-"},        // must start with a letter or digit
		{strings.Repeat("a", 64), strings.Repeat("a", 30) + "-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := workspaceKey(tt.ws)
		if tt.want == tt.ws && got != tt.want || tt.want != tt.ws && !strings.HasPrefix(got, tt.want) {
			t.Errorf("workspaceKey(%q) = %q, want %q (plus a hash when changed)", tt.ws, got, tt.want)
		}
		if !dnsLabel.MatchString(got) || len(got) > 63 {
			t.Errorf("workspaceKey(%q) = %q, not a DNS label", tt.ws, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("workspaces %q and %q share the key %q", other, tt.ws, got)
		}
		seen[got] = tt.ws
	}
	if workspaceKey("Prod") == workspaceKey("prod") {
		t.Error(`workspaces "Prod" and "prod" share a key`)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		n, size int
		want    []int
	}{
		{0, 4, nil},
		{3, 4, []int{3}},
		{4, 4, []int{4}},
		{9, 4, []int{4, 4, 1}},
	}
	for _, tt := range tests {
		var got []int
		for _, p := range split(make([]byte, tt.n), tt.size) {
			got = append(got, len(p))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("split(%d bytes, %d) sizes (-want +got):\n%s", tt.n, tt.size, diff)
		}
	}
}

func TestNewerFormatRefused(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	s, err := NewWithClient(client, Config{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, storetest.Sample("default")); err != nil {
		t.Fatal(err)
	}
	secrets := client.CoreV1().Secrets("default")
	ptr, err := secrets.Get(ctx, s.pointerName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ptr.Data["format_version"] = []byte("99")
	if _, err := secrets.Update(ctx, ptr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(ctx)
	if err == nil || !strings.Contains(err.Error(), "format version 99") {
		t.Errorf("Read of a state from a newer ansflow = %v, want an error naming format version 99", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Name: ""}, "invalid state name"},
		{Config{Name: "My_App"}, "invalid state name"},
		{Config{Name: "app", LeaseDuration: 100e6}, "too short"},
	}
	for _, tt := range tests {
		_, err := NewWithClient(fake.NewClientset(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewWithClient(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}

func TestImportKeepsLineageAndSerial(t *testing.T) {
	ctx := context.Background()
	s, err := NewWithClient(fake.NewClientset(), Config{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	want := storetest.Sample("default")
	want.Serial = 57
	var _ state.Importer = s
	if err := s.Import(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after Import (-want +got):\n%s", diff)
	}
}

func TestWorkspaces(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	for _, ws := range []string{"default", "My_WS"} {
		s, err := NewWithClient(client, Config{Name: "test", Workspace: ws})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, storetest.Sample(ws)); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := NewWithClient(client, Config{Name: "other"})
	if err := other.Write(ctx, storetest.Sample("default")); err != nil {
		t.Fatal(err)
	}
	s, _ := NewWithClient(client, Config{Name: "test"})
	got, err := s.Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"My_WS", "default"}, got); diff != "" {
		t.Errorf("Workspaces (-want +got):\n%s", diff)
	}
}
