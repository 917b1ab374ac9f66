// Package telemetry exports runs as OpenTelemetry traces over OTLP (HTTP
// with protobuf, or gRPC): a span for the plan or apply, a child span per
// step, and under each step a span per attempt, with the step's address,
// action, result, exit code and error. It consumes the engine's events, so
// the engine knows nothing of OpenTelemetry.
//
// Tracing is off unless an endpoint is configured, by the standard
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (and
// ..._PROTOCOL: http/protobuf, the default, or grpc), or by the pipeline's
// ansflow { telemetry { endpoint = "..."  protocol = "..." } } block; the
// environment wins over the block, and OTEL_SDK_DISABLED=true turns it off.
// Spans are exported in the background, and the export at the end waits a
// bounded time, so a collector that is slow or gone never holds up a run.
package telemetry

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ansflow/ansflow/config"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Protocols.
const (
	HTTP = "http/protobuf"
	GRPC = "grpc"
)

// Config says where traces go. An empty Endpoint turns tracing off.
type Config struct {
	// Endpoint is the URL spans are sent to: for HTTP the full URL of
	// the traces resource (http://host:4318/v1/traces), for gRPC the
	// collector's address (http://host:4317).
	Endpoint string
	Protocol string
	// Timeout bounds the export at the end of a run; default 5s.
	Timeout time.Duration
}

// Enabled reports whether traces are exported.
func (c Config) Enabled() bool { return c.Endpoint != "" }

type block struct {
	Endpoint string `hcl:"endpoint"`
	Protocol string `hcl:"protocol,optional"`
	Timeout  string `hcl:"timeout,optional"`
}

// Resolve reads the configuration from the environment (through getenv)
// and the pipeline's telemetry block (p may be nil).
func Resolve(p *config.Pipeline, getenv func(string) string) (Config, hcl.Diagnostics) {
	var c Config
	var diags hcl.Diagnostics
	if p != nil && p.Settings != nil && p.Settings.Telemetry != nil {
		c, diags = decodeBlock(p.Settings.Telemetry)
	}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return Config{}, diags
	}
	if e := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); e != "" {
		c.Endpoint = e
	} else if e := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); e != "" {
		c.Endpoint = e
		c.Protocol = "" // the protocol goes with the endpoint
	}
	if pr := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); pr != "" {
		c.Protocol = pr
	} else if pr := getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); pr != "" {
		c.Protocol = pr
	}
	if c.Protocol == "" {
		c.Protocol = HTTP
	}
	if c.Endpoint == "" {
		return Config{}, diags
	}
	generic := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == ""
	var err error
	c.Endpoint, err = normalize(c.Endpoint, c.Protocol, generic)
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid telemetry endpoint", Detail: err.Error()})
	}
	return c, diags
}

func decodeBlock(t *config.Telemetry) (Config, hcl.Diagnostics) {
	var b block
	diags := gohcl.DecodeBody(t.Config, nil, &b)
	if diags.HasErrors() {
		return Config{}, diags
	}
	c := Config{Endpoint: b.Endpoint, Protocol: b.Protocol}
	attrs, _ := t.Config.JustAttributes()
	subject := func(name string) *hcl.Range {
		if a := attrs[name]; a != nil {
			return a.Expr.Range().Ptr()
		}
		return t.DeclRange.Ptr()
	}
	if b.Timeout != "" {
		d, err := time.ParseDuration(b.Timeout)
		if err != nil || d <= 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid telemetry timeout",
				Detail: fmt.Sprintf("timeout must be a duration such as \"5s\", not %q.", b.Timeout), Subject: subject("timeout")})
		}
		c.Timeout = d
	}
	if c.Protocol != "" && c.Protocol != HTTP && c.Protocol != GRPC {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported telemetry protocol",
			Detail: fmt.Sprintf("protocol is %q or %q, not %q.", HTTP, GRPC, c.Protocol), Subject: subject("protocol")})
	}
	return c, diags
}

// normalize checks an endpoint and, for HTTP given as a base URL (the
// generic OTEL_EXPORTER_OTLP_ENDPOINT or the block), adds /v1/traces.
func normalize(endpoint, protocol string, base bool) (string, error) {
	if protocol != HTTP && protocol != GRPC {
		return "", fmt.Errorf("the OTLP protocol is %q or %q, not %q; set OTEL_EXPORTER_OTLP_PROTOCOL or the telemetry block's protocol", HTTP, GRPC, protocol)
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an OTLP endpoint; write it as a URL such as http://127.0.0.1:4318", endpoint)
	}
	if protocol == HTTP && base && !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// Validate checks the pipeline's telemetry block, for `ansflow validate`.
func Validate(p *config.Pipeline) hcl.Diagnostics {
	if p == nil || p.Settings == nil || p.Settings.Telemetry == nil {
		return nil
	}
	c, diags := decodeBlock(p.Settings.Telemetry)
	if diags.HasErrors() {
		return diags
	}
	if _, err := normalize(c.Endpoint, orHTTP(c.Protocol), true); err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid telemetry endpoint", Detail: err.Error(), Subject: p.Settings.Telemetry.DeclRange.Ptr()})
	}
	return diags
}

func orHTTP(protocol string) string {
	if protocol == "" {
		return HTTP
	}
	return protocol
}
