package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiError renders an API error the way kubectl does, e.g.
//
//	Error from server (NotFound): deployments.apps "x" not found
//
// and names the API server when it could not be reached. Other errors are
// returned unchanged.
func (c *client) apiError(err error) error {
	if err == nil {
		return nil
	}
	return renderAPIError(err, c.endpoint)
}

func renderAPIError(err error, endpoint string) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) && !errors.Is(err, context.DeadlineExceeded) {
		return &kubeError{msg: formatStatus(status.Status()), err: err}
	}
	if unreachable(err) {
		return &kubeError{
			msg: fmt.Sprintf("cannot reach the Kubernetes API server at %s: %s (is the cluster running, and are KUBECONFIG / the cluster block's context right?)", endpoint, rootCause(err)),
			err: err,
		}
	}
	return err
}

// formatStatus is kubectl's "Error from server (Reason): message".
func formatStatus(s metav1.Status) string {
	msg := s.Message
	if msg == "" {
		msg = fmt.Sprintf("unknown error (HTTP %d)", s.Code)
	}
	reason := s.Reason
	if reason == metav1.StatusReasonUnknown || reason == "" {
		return "Error from server: " + msg
	}
	return fmt.Sprintf("Error from server (%s): %s", reason, msg)
}

// kubeError keeps the original error reachable for errors.Is/As.
type kubeError struct {
	msg string
	err error
}

func (e *kubeError) Error() string { return e.msg }
func (e *kubeError) Unwrap() error { return e.err }

// unreachable reports whether err means the API server did not answer.
func unreachable(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return strings.Contains(err.Error(), "connection refused")
}

// rootCause strips url.Error's "Get \"https://...\": " prefix.
func rootCause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}
