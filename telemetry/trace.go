package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ansflow/ansflow/engine"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of ansflow's spans.
const (
	AttrOperation = "ansflow.operation"
	AttrWorkspace = "ansflow.workspace"
	AttrRun       = "ansflow.run.number"
	AttrRunResult = "ansflow.run.result"
	AttrAddress   = "ansflow.step.address"
	AttrAction    = "ansflow.step.action"
	AttrResult    = "ansflow.step.result"
	AttrExitCode  = "ansflow.step.exit_code"
	AttrAttempt   = "ansflow.step.attempt"
	AttrError     = "ansflow.step.error"
)

// Run is the trace of one plan, apply or destroy. Its methods are safe for
// concurrent use; a nil *Run does nothing.
type Run struct {
	cfg    Config
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	ctx    context.Context // holds the run span
	span   trace.Span

	mu      sync.Mutex
	steps   map[string]*stepSpan
	sendErr error // the first export error
}

type stepSpan struct {
	ctx     context.Context
	span    trace.Span
	attempt trace.Span
	number  int
}

// RunInfo names a run for its span.
type RunInfo struct {
	Operation string // plan | apply | destroy
	Workspace string
	Number    int // 0 for a plan
	Version   string
	Started   time.Time // zero: now
}

// Start begins the trace of a run. With tracing off it returns nil.
func Start(ctx context.Context, cfg Config, info RunInfo) (*Run, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	exp, err := exporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r := &Run{cfg: cfg, steps: map[string]*stepSpan{}}
	// The SDK reports failed exports to a process-wide handler (by default
	// the standard logger); the run keeps them for its warning instead.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(r.exportFailed))
	res := resource.NewSchemaless(attribute.String("service.name", "ansflow"), attribute.String("service.version", info.Version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	r.tp, r.tracer = tp, tp.Tracer("github.com/ansflow/ansflow")
	attrs := []attribute.KeyValue{attribute.String(AttrOperation, info.Operation), attribute.String(AttrWorkspace, info.Workspace)}
	if info.Number > 0 {
		attrs = append(attrs, attribute.Int(AttrRun, info.Number))
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attrs...), trace.WithSpanKind(trace.SpanKindInternal)}
	if !info.Started.IsZero() {
		opts = append(opts, trace.WithTimestamp(info.Started))
	}
	r.ctx, r.span = r.tracer.Start(context.WithoutCancel(ctx), "ansflow "+info.Operation, opts...)
	return r, nil
}

func exporter(ctx context.Context, cfg Config) (sdktrace.SpanExporter, error) {
	timeout := cfg.timeout()
	switch cfg.Protocol {
	case GRPC:
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(cfg.Endpoint), otlptracegrpc.WithTimeout(timeout))
	case HTTP, "":
		return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint), otlptracehttp.WithTimeout(timeout))
	}
	return nil, fmt.Errorf("unsupported OTLP protocol %q", cfg.Protocol)
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 5 * time.Second
}

func (r *Run) exportFailed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sendErr == nil {
		r.sendErr = err
	}
}

// TraceID is the run's trace id in hex, "" when tracing is off.
func (r *Run) TraceID() string {
	if r == nil {
		return ""
	}
	return r.span.SpanContext().TraceID().String()
}

// Plan records the planned action of every step that does something, as
// short child spans of the run.
func (r *Run) Plan(p *engine.Plan) {
	if r == nil {
		return
	}
	s := p.Summary()
	r.span.SetAttributes(attribute.Int("ansflow.plan.create", s.Create), attribute.Int("ansflow.plan.update", s.Update),
		attribute.Int("ansflow.plan.replace", s.Replace), attribute.Int("ansflow.plan.delete", s.Delete),
		attribute.Int("ansflow.plan.run", s.Run), attribute.Int("ansflow.plan.up_to_date", s.NoOp))
	for _, c := range p.Changes {
		if !c.Action.Changes() {
			continue
		}
		_, sp := r.tracer.Start(r.ctx, c.Addr, trace.WithAttributes(attribute.String(AttrAddress, c.Addr),
			attribute.String(AttrAction, c.Action.String()), attribute.StringSlice("ansflow.step.reasons", c.Reasons)))
		sp.End()
	}
}

// Event is an engine observer: step_start opens a step span and its first
// attempt, step_retry ends an attempt and opens the next, step_end closes
// them with the result.
func (r *Run) Event(ev engine.Event) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	at := trace.WithTimestamp(ev.Time)
	switch ev.Type {
	case engine.EventStepStart:
		s := r.startStep(ev)
		s.startAttempt(r.tracer, ev.Time, 1)
	case engine.EventStepRetry:
		s := r.steps[ev.Addr]
		if s == nil {
			return
		}
		s.endAttempt(ev.Error, at)
		s.startAttempt(r.tracer, ev.Time, ev.Attempt)
	case engine.EventStepEnd:
		s := r.steps[ev.Addr]
		if s == nil { // ended without starting: skipped or unchanged
			s = r.startStep(ev)
		}
		delete(r.steps, ev.Addr)
		r.endStep(s, ev, at)
	}
}

func (r *Run) startStep(ev engine.Event) *stepSpan {
	ctx, sp := r.tracer.Start(r.ctx, ev.Addr, trace.WithTimestamp(ev.Time), trace.WithAttributes(
		attribute.String(AttrAddress, ev.Addr), attribute.String(AttrAction, ev.Action.String())))
	s := &stepSpan{ctx: ctx, span: sp}
	r.steps[ev.Addr] = s
	return s
}

func (s *stepSpan) startAttempt(t trace.Tracer, at time.Time, n int) {
	s.number = n
	_, s.attempt = t.Start(s.ctx, "attempt "+strconv.Itoa(n), trace.WithTimestamp(at), trace.WithAttributes(attribute.Int(AttrAttempt, n)))
}

func (s *stepSpan) endAttempt(errText string, at trace.SpanEndEventOption) {
	if s.attempt == nil {
		return
	}
	if errText != "" {
		s.attempt.SetStatus(codes.Error, errText)
		s.attempt.SetAttributes(attribute.String(AttrError, errText))
	}
	s.attempt.End(at)
	s.attempt = nil
}

func (r *Run) endStep(s *stepSpan, ev engine.Event, at trace.SpanEndEventOption) {
	s.endAttempt(ev.Error, at)
	s.span.SetAttributes(attribute.String(AttrResult, string(ev.Result)))
	if ev.Attempt > 0 {
		s.span.SetAttributes(attribute.Int("ansflow.step.attempts", ev.Attempt))
	}
	if code, ok := strings.CutPrefix(ev.ID, "exit="); ok {
		if n, err := strconv.Atoi(code); err == nil {
			s.span.SetAttributes(attribute.Int(AttrExitCode, n))
		}
	}
	if ev.Error != "" {
		s.span.SetAttributes(attribute.String(AttrError, ev.Error))
	}
	if ev.Result == engine.ResultFailed {
		s.span.SetStatus(codes.Error, ev.Error)
	}
	s.span.End(at)
}

// End closes the run span with the run's result ("ok", "failed", ...),
// and exports what is left, waiting at most the configured timeout.
func (r *Run) End(number int, result string) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	for addr, s := range r.steps { // interrupted: never ended
		s.endAttempt("", trace.WithTimestamp(time.Now()))
		s.span.SetAttributes(attribute.String(AttrResult, string(engine.ResultNotRun)))
		s.span.End()
		delete(r.steps, addr)
	}
	r.mu.Unlock()
	if number > 0 {
		r.span.SetAttributes(attribute.Int(AttrRun, number))
	}
	r.span.SetAttributes(attribute.String(AttrRunResult, result))
	if result != "ok" {
		r.span.SetStatus(codes.Error, result)
	}
	r.span.End()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.timeout())
	defer cancel()
	err := r.tp.Shutdown(ctx)
	r.mu.Lock()
	if err == nil {
		err = r.sendErr
	}
	r.mu.Unlock()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the trace could not be sent to %s within %s", r.cfg.Endpoint, r.cfg.timeout())
	}
	if err != nil {
		return fmt.Errorf("sending the trace to %s: %w", r.cfg.Endpoint, err)
	}
	return nil
}
