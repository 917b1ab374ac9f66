package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Events a run reports.
const (
	EventSuccess  = "success"
	EventFailure  = "failure"
	EventApproval = "approval"
)

// Summary is what a notification says about one apply or destroy. Step
// errors must already be redacted by the caller; Sender.Redact is applied
// on top to every string.
type Summary struct {
	Pipeline   string         `json:"pipeline"`
	Workspace  string         `json:"workspace"`
	Run        int            `json:"run"`
	RunID      string         `json:"run_id"`
	Operation  string         `json:"operation"` // apply | destroy
	Result     string         `json:"result"`    // ok | failed | waiting | interrupted
	Event      string         `json:"event"`     // success | failure | approval
	User       string         `json:"user,omitempty"`
	Started    time.Time      `json:"started"`
	Finished   time.Time      `json:"finished"`
	DurationMS float64        `json:"duration_ms"`
	Created    int            `json:"created"`
	Updated    int            `json:"updated"`
	Ran        int            `json:"ran"`
	Deleted    int            `json:"deleted"`
	Failed     []FailedStep   `json:"failed_steps,omitempty"`
	Skipped    []string       `json:"skipped_steps,omitempty"`
	Waiting    []string       `json:"waiting_for_approval,omitempty"`
	Steps      []StepDuration `json:"steps,omitempty"` // every step that did something
	Link       string         `json:"link,omitempty"`
}

// FailedStep is a step that failed, with its error.
type FailedStep struct {
	Addr  string `json:"addr"`
	Error string `json:"error"`
}

// StepDuration is how long one step took.
type StepDuration struct {
	Addr       string  `json:"addr"`
	DurationMS float64 `json:"duration_ms"`
}

// EventOf is the event of a run result.
func EventOf(result string) string {
	switch result {
	case "ok":
		return EventSuccess
	case "waiting":
		return EventApproval
	}
	return EventFailure
}

// Target is one webhook.
type Target struct {
	Name    string
	URL     string
	Format  string // json (default), slack or teams
	Timeout time.Duration
	Retries int // tries after the first
}

// Sender delivers notifications. The zero value is usable.
type Sender struct {
	Client *http.Client // nil: a client without a global timeout (each try has its own)
	// Backoff is the pause before the first retry, doubled before each
	// next one (at most 10s); 0 means 500ms.
	Backoff time.Duration
	// Redact, when set, is applied to every string of the payload (the
	// values of sensitive variables must not leave the machine).
	Redact func(string) string
}

// Send posts s to t, retrying on network errors, timeouts, 429 and 5xx
// answers. The error never contains the URL, which often holds a token.
func (snd *Sender) Send(ctx context.Context, t Target, s Summary) error {
	body, err := Payload(t.Format, snd.redacted(s))
	if err != nil {
		return err
	}
	delay := snd.Backoff
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	tries := t.Retries + 1
	for try := 1; ; try++ {
		retry, err := snd.post(ctx, t, body)
		if err == nil {
			return nil
		}
		if !retry || try >= tries {
			return fmt.Errorf("try %d of %d: %w", try, tries, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("try %d of %d: %w; no more tries: %v", try, tries, err, context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// post makes one try; retry says whether another one may succeed.
func (snd *Sender) post(ctx context.Context, t Target, body []byte) (retry bool, err error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("the url is not a valid address; check the notify block's url")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ansflow")
	client := snd.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return true, fmt.Errorf("no answer within %s", timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return true, fmt.Errorf("cannot reach the webhook: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	return retry, fmt.Errorf("the webhook answered %s", resp.Status)
}

// redacted applies Redact to every string of s.
func (snd *Sender) redacted(s Summary) Summary {
	if snd.Redact == nil {
		return s
	}
	r := snd.Redact
	s.Pipeline, s.Workspace, s.User, s.Link = r(s.Pipeline), r(s.Workspace), r(s.User), r(s.Link)
	failed := make([]FailedStep, len(s.Failed))
	for i, f := range s.Failed {
		failed[i] = FailedStep{Addr: r(f.Addr), Error: r(f.Error)}
	}
	s.Failed = failed
	return s
}

// Payload renders s in a format: json is the summary with a text line
// added; slack and teams carry the text their incoming webhooks show.
func Payload(format string, s Summary) ([]byte, error) {
	text := Text(s)
	switch format {
	case "", "json":
		return json.Marshal(struct {
			Text string `json:"text"`
			Summary
		}{text, s})
	case "slack":
		return json.Marshal(map[string]string{"text": text})
	case "teams":
		return json.Marshal(map[string]string{
			"@type": "MessageCard", "@context": "https://schema.org/extensions",
			"summary": firstLine(text), "text": strings.ReplaceAll(text, "\n", "\n\n"),
		})
	}
	return nil, fmt.Errorf("unknown payload format %q; use json, slack or teams", format)
}

// Text is the human summary: one headline, then the failed and waiting
// steps and the link.
func Text(s Summary) string {
	var b strings.Builder
	verb := map[string]string{"ok": "succeeded", "failed": "failed", "waiting": "is waiting for approval", "interrupted": "was interrupted"}[s.Result]
	if verb == "" {
		verb = s.Result
	}
	d := time.Duration(s.DurationMS * float64(time.Millisecond)).Round(time.Second)
	fmt.Fprintf(&b, "ansflow %s of %s (workspace %s) run %d %s after %s: %d created, %d updated, %d ran, %d destroyed, %d failed.",
		s.Operation, s.Pipeline, s.Workspace, s.Run, verb, d, s.Created, s.Updated, s.Ran, s.Deleted, len(s.Failed))
	for _, f := range s.Failed {
		fmt.Fprintf(&b, "\nFailed: %s: %s", f.Addr, firstLine(f.Error))
	}
	for _, w := range s.Waiting {
		fmt.Fprintf(&b, "\nWaiting for approval: %s (ansflow approve %s)", w, w)
	}
	if s.Link != "" {
		fmt.Fprintf(&b, "\n%s", s.Link)
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
