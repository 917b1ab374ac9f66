package cmd_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on 127.0.0.1 that keeps
// every span it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	url   string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		data, _ := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rcv.add(&req)
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(ts.Close)
	rcv.url = ts.URL
	return rcv
}

func (r *otlpReceiver) add(req *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
}

// grpcReceiver is the same receiver as an OTLP/gRPC TraceService on
// 127.0.0.1; it returns the endpoint URL.
type grpcReceiver struct {
	coltrace.UnimplementedTraceServiceServer
	rcv *otlpReceiver
}

func (g grpcReceiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	g.rcv.add(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

func newGRPCReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &otlpReceiver{url: "http://" + ln.Addr().String()}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, grpcReceiver{rcv: rcv})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return rcv
}

// trace returns the spans of one trace id.
func (r *otlpReceiver) trace(id string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if hex.EncodeToString(s.TraceId) == id {
			out = append(out, s)
		}
	}
	return out
}

const tracedPipeline = `
exec "greet" {
  command = ["echo", "hello"]
}

exec "retry_once" {
  command = ["sh", "-c", "test -e once || { touch once; exit 1; }"]
  retry {
    attempts = 2
    delay    = "10ms"
  }
}

exec "broken" {
  command    = ["sh", "-c", "exit 3"]
  depends_on = [exec.greet]
}

exec "after_broken" {
  command    = ["true"]
  depends_on = [exec.broken]
}
`

var traceIDRE = regexp.MustCompile(`Trace ID: ([0-9a-f]{32})`)

// TestTraceOfAnApply applies with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
// a receiver on 127.0.0.1, over HTTP and over gRPC, and checks the span
// tree: the run, a span per step under it, a span per attempt under each
// step, with results and exit codes; then that a plan is traced too.
func TestTraceOfAnApply(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			rcv := map[string]func(*testing.T) *otlpReceiver{"http/protobuf": newOTLPReceiver, "grpc": newGRPCReceiver}[protocol](t)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(tracedPipeline), 0o644); err != nil {
				t.Fatal(err)
			}
			env := []string{"ANSFLOW_WORKSPACE=", "NO_COLOR=1", "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.url, "OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol}
			out, code := ansflowRun(t, dir, env, "apply", "-auto-approve")
			if code != 1 {
				t.Fatalf("apply: exit %d, want 1 (exec.broken fails)\n%s", code, out)
			}
			m := traceIDRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the summary has no trace id:\n%s", out)
			}
			checkApplyTrace(t, rcv.trace(m[1]))
			events, _ := os.ReadFile(filepath.Join(dir, ".ansflow", "logs", "1", "events.jsonl"))
			if !bytes.Contains(events, []byte(`"trace_id":"`+m[1]+`"`)) {
				t.Error("the run's events file does not name its trace, so the dashboard cannot show it")
			}
			out, code = ansflowRun(t, dir, env, "plan")
			if m := traceIDRE.FindStringSubmatch(out); code != 0 || m == nil {
				t.Fatalf("plan: exit %d, no trace id:\n%s", code, out)
			} else if sp := rcv.trace(m[1]); !hasSpan(sp, "ansflow plan") || !hasSpan(sp, "exec.broken") {
				t.Errorf("the plan's trace has %d spans, want ansflow plan with exec.broken under it", len(sp))
			}
		})
	}
}

// checkApplyTrace checks the span tree of tracedPipeline's first apply.
func checkApplyTrace(t *testing.T, spans []*tracepb.Span) {
	t.Helper()
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	var root *tracepb.Span
	children := map[string][]string{}
	for _, s := range spans {
		if len(s.ParentSpanId) == 0 {
			if root != nil {
				t.Errorf("two root spans: %s and %s", root.Name, s.Name)
			}
			root = s
			continue
		}
		p := byID[hex.EncodeToString(s.ParentSpanId)]
		if p == nil {
			t.Errorf("span %s has a parent that was not sent", s.Name)
			continue
		}
		children[p.Name] = append(children[p.Name], s.Name)
	}
	if root == nil || root.Name != "ansflow apply" {
		t.Fatalf("root span %v, want ansflow apply; spans: %d", root, len(spans))
	}
	for _, c := range children {
		sort.Strings(c)
	}
	want := map[string]string{
		"ansflow apply":     "[exec.after_broken exec.broken exec.greet exec.retry_once]",
		"exec.greet":        "[attempt 1]",
		"exec.retry_once":   "[attempt 1 attempt 2]",
		"exec.broken":       "[attempt 1]",
		"exec.after_broken": "[]",
	}
	for parent, w := range want {
		if got := "[" + strings.Join(children[parent], " ") + "]"; got != w {
			t.Errorf("children of %s: %s, want %s", parent, got, w)
		}
	}
	checks := []struct{ span, key, want string }{
		{"ansflow apply", "ansflow.run.result", "failed"},
		{"ansflow apply", "ansflow.run.number", "1"},
		{"exec.broken", "ansflow.step.result", "failed"},
		{"exec.broken", "ansflow.step.exit_code", "3"},
		{"exec.broken", "ansflow.step.action", "run"},
		{"exec.greet", "ansflow.step.result", "ok"},
		{"exec.retry_once", "ansflow.step.result", "ok"},
		{"exec.after_broken", "ansflow.step.result", "skipped"},
	}
	for _, c := range checks {
		for _, s := range spans {
			if s.Name == c.span {
				if got := attrString(s, c.key); got != c.want {
					t.Errorf("%s %s = %q, want %q", c.span, c.key, got, c.want)
				}
			}
		}
	}
	for _, s := range spans {
		if s.Name == "exec.broken" && s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("exec.broken's span status %v, want error", s.Status)
		}
	}
}

func hasSpan(spans []*tracepb.Span, name string) bool {
	for _, s := range spans {
		if s.Name == name {
			return true
		}
	}
	return false
}

func attrString(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

// TestTraceCollectorGone: a collector that does not answer costs a
// warning, never the apply.
func TestTraceCollectorGone(t *testing.T) {
	dir := t.TempDir()
	pipeline := `
ansflow {
  telemetry {
    endpoint = "http://127.0.0.1:1"
    timeout  = "1s"
  }
}
exec "ok" {
  command = ["true"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := ansflowRun(t, dir, []string{"ANSFLOW_WORKSPACE=", "OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="}, "apply", "-auto-approve")
	if code != 0 || !strings.Contains(out, "Apply complete") || !strings.Contains(out, "Warning:") || !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("apply: exit %d, want 0 with a warning naming the endpoint:\n%s", code, out)
	}
}
