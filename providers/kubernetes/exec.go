package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/ansflow/ansflow/config"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/ansflow/ansflow/providers"
)

// ExecType is the k8s_exec step type: its schema and its implementation.
func (p *Provider) ExecType() providers.Type {
	return providers.Type{Schema: ExecSchema(), Step: &execStep{p: p}}
}

// ExecSchema describes the k8s_exec step type.
func ExecSchema() *config.StepSchema {
	return &config.StepSchema{
		Type: "k8s_exec", Kind: config.RunToCompletion,
		Description: "Runs a command in a ready pod's container through the API server's exec subresource.",
		ResultIDs:   []config.ResultID{{Output: "exit_code", Prefix: "exit="}},
		Inputs: podInputs(
			config.Attr("command", cty.List(cty.String), "Program and arguments (argv).").AsRequired().WithExample(cty.ListVal([]cty.Value{cty.StringVal("echo"), cty.StringVal("hello")})),
			config.Attr("expect_exit_code", cty.Number, "Exit code that counts as success.").WithDefault(cty.NumberIntVal(0)),
		),
		Outputs: []config.AttrSchema{
			config.Attr("exit_code", cty.Number, "Exit code of the command."),
			config.Attr("stdout", cty.String, "Standard output (capped at 1 MiB)."),
			config.Attr("stderr", cty.String, "Standard error (capped at 1 MiB)."),
		},
	}
}

// execStep is k8s_exec.
type execStep struct{ p *Provider }

func (s *execStep) Fingerprint(context.Context, providers.FingerprintRequest) (map[string]string, error) {
	return nil, nil
}

func (s *execStep) Read(_ context.Context, req providers.ReadRequest) (providers.ReadResponse, error) {
	return providers.ReadResponse{Outputs: req.Prior.Outputs}, nil
}

func (s *execStep) Delete(context.Context, providers.DeleteRequest) error { return nil }

func (s *execStep) Apply(ctx context.Context, req providers.ApplyRequest) (providers.ApplyResponse, error) {
	in := attrs{req.Inputs}
	c, ns, err := s.p.clientAndNamespace(req.Inputs)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	command := in.strList("command")
	if len(command) == 0 {
		return providers.ApplyResponse{}, fmt.Errorf("command is empty")
	}
	pod, err := c.pickPod(ctx, ns, in.str("pod"), in.str("pod_selector"), true)
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	container, err := containerOf(pod, in.str("container"))
	if err != nil {
		return providers.ApplyResponse{}, err
	}
	req.Logs.Say("exec in pod %s, container %s", pod.Name, container)
	stdout, stderr := newCapped(), newCapped()
	code, err := c.exec(ctx, pod, container, command, io.MultiWriter(req.Logs.Stdout, stdout), io.MultiWriter(req.Logs.Stderr, stderr))
	out := providers.ApplyResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(code)),
		"stdout":    cty.StringVal(stdout.String()),
		"stderr":    cty.StringVal(stderr.String()),
	})}
	if err != nil {
		return out, err
	}
	want, _ := in.int("expect_exit_code")
	if int64(code) != want {
		return out, fmt.Errorf("command %q in pod %s exited with code %d (expected %d)", command[0], pod.Name, code, want)
	}
	return out, nil
}

// exec runs command in the container through the exec subresource, over
// WebSockets, falling back to SPDY for servers that do not upgrade. It
// returns the command's exit code; err is for failures to run it at all.
func (c *client) exec(ctx context.Context, pod *corev1.Pod, container string, command []string, stdout, stderr io.Writer) (int, error) {
	req := c.typed.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.config, "GET", req.URL().String())
	if err != nil {
		return -1, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.config, "POST", req.URL())
	if err != nil {
		return -1, err
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return -1, err
	}
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
	if err == nil {
		return 0, nil
	}
	if code, ok := exitCode(err); ok {
		return code, nil
	}
	return -1, fmt.Errorf("exec in pod %s: %w", pod.Name, c.apiError(err))
}

// internalExitStatus matches how a non-zero exit comes back from a node that
// reports it as an error message rather than a status with an exit code:
// kwok (the test environment's simulated node) runs the command itself and
// answers "Internal error occurred: ... exit status N".
var internalExitStatus = regexp.MustCompile(`exit status (\d+)`)

// exitCode extracts a command's exit code from an exec stream error.
func exitCode(err error) (int, bool) {
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	var ee utilexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus(), true
	}
	if m := internalExitStatus.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			return n, true
		}
	}
	return 0, false
}
