package kubernetes

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"

	"github.com/ansflow/ansflow/providers"
)

// LogsType is the k8s_logs step type: its schema and its implementation.
func (p *Provider) LogsType() providers.Type {
	return providers.Type{Schema: LogsSchema(), Step: &logsStep{p: p}}
}

// LogsSchema describes the k8s_logs step type.
func LogsSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_logs", Kind: config.RunToCompletion,
		Description: "Fetches the logs of a pod's container into the step's log and the `logs` output.",
		Inputs: podInputs(
			config.Attr("tail_lines", cty.Number, "Only the last N lines."),
			config.Attr("since", cty.String, "Only lines newer than this duration, e.g. `10m`."),
		),
		Outputs: []config.AttrSchema{
			config.Attr("logs", cty.String, "The log text (capped at 1 MiB)."),
			config.Attr("path", cty.String, "Path of the stored log file."),
		},
	}
}

// logsStep is k8s_logs.
type logsStep struct{ p *Provider }

func (s *logsStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (s *logsStep) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

func (s *logsStep) Delete(context.Context, providers.DeleteRequest) error { return nil }

func (s *logsStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	opts := &corev1.PodLogOptions{}
	if n, ok := in.int("tail_lines"); ok {
		if n < 0 {
			return providers.ApplyResponse{}, fmt.Errorf("tail_lines must not be negative")
		}
		opts.TailLines = &n
	}
	if since := in.str("since"); since != "" {
		d, err := time.ParseDuration(since)
		if err != nil || d <= 0 {
			return providers.ApplyResponse{}, fmt.Errorf("since: %q is not a positive duration such as \"10m\"", since)
		}
		secs := int64((d + time.Second - 1) / time.Second)
		opts.SinceSeconds = &secs
	}
	pod, err := c.pickPod(ctx, ns, in.str("pod"), in.str("pod_selector"), false)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	if opts.Container, err = containerOf(pod, in.str("container")); err != nil {
		return providers.ApplyResponse{}, err
	}
	req.Logs.Say("reading logs of pod %s, container %s", pod.Name, opts.Container)

	sinks := []io.Writer{req.Logs.Stdout}
	text := newCapped()
	sinks = append(sinks, text)
	path := ""
	if req.Env.LogDir != "" {
		path = filepath.Join(req.Env.LogDir, fileSafe(req.Addr)+".pod.log")
		f, err := os.Create(path)
		if err != nil {
			return providers.ApplyResponse{}, fmt.Errorf("storing the logs: %w", err)
		}
		defer f.Close()
		sinks = append(sinks, f)
	}
	stream, err := c.typed.CoreV1().Pods(ns).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("logs of pod %s: %w", pod.Name, c.apiError(err))
	}
	defer stream.Close()
	if _, err := io.Copy(io.MultiWriter(sinks...), stream); err != nil {
		return providers.ApplyResponse{}, fmt.Errorf("reading logs of pod %s: %w", pod.Name, err)
	}
	return providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"logs": cty.StringVal(text.String()),
		"path": strOrNull(path),
	})}, nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileSafe turns a step address (k8s_logs.app["a"]) into a file name.
func fileSafe(addr string) string {
	return unsafeFileChars.ReplaceAllString(addr, "_")
}
