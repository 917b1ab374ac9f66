package telemetry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/providers/builtin"
)

func TestResolve(t *testing.T) {
	block := `ansflow {
  telemetry {
    endpoint = "http://collector:4318"
    protocol = "http/protobuf"
    timeout  = "2s"
  }
}
`
	tests := []struct {
		name    string
		hcl     string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "off by default", want: Config{}},
		{name: "generic endpoint gets the traces path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
			want: Config{Endpoint: "http://127.0.0.1:4318/v1/traces", Protocol: HTTP}},
		{name: "traces endpoint is used as it is", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom"},
			want: Config{Endpoint: "http://127.0.0.1:4318/custom", Protocol: HTTP}},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: Config{Endpoint: "http://127.0.0.1:4317", Protocol: GRPC}},
		{name: "block", hcl: block, want: Config{Endpoint: "http://collector:4318/v1/traces", Protocol: HTTP, Timeout: 2e9}},
		{name: "environment wins over the block", hcl: block, env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"},
			want: Config{Endpoint: "http://other:4318/v1/traces", Protocol: HTTP, Timeout: 2e9}},
		{name: "disabled", hcl: block, env: map[string]string{"OTEL_SDK_DISABLED": "true"}, want: Config{}},
		{name: "bad protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: "http/json"},
		{name: "bad block protocol", hcl: strings.Replace(block, `"http/protobuf"`, `"udp"`, 1), wantErr: "Unsupported telemetry protocol"},
		{name: "bad timeout", hcl: strings.Replace(block, `"2s"`, `"soon"`, 1), wantErr: "Invalid telemetry timeout"},
		{name: "unknown attribute", hcl: strings.Replace(block, "timeout", "timout", 1), wantErr: "timout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *config.Pipeline
			if tt.hcl != "" {
				dir := t.TempDir()
				os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(tt.hcl+"exec \"a\" {\n  command = [\"true\"]\n}\n"), 0o644)
				pp, d := builtin.Load(dir)
				if d.HasErrors() {
					t.Fatal(d)
				}
				p = pp
			}
			got, diags := Resolve(p, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.wantErr) {
					t.Fatalf("diags = %v, want an error about %q", diags, tt.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
