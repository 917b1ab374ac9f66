package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a webhook on 127.0.0.1 that answers with the given status
// codes in turn (the last one from then on) and keeps the bodies.
type recorder struct {
	mu     sync.Mutex
	codes  []int
	bodies [][]byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.bodies = append(rec.bodies, body)
	code := rec.codes[min(len(rec.bodies), len(rec.codes))-1]
	rec.mu.Unlock()
	if r.Header.Get("Content-Type") != "application/json" {
		code = http.StatusUnsupportedMediaType
	}
	w.WriteHeader(code)
}

func (rec *recorder) requests() [][]byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([][]byte(nil), rec.bodies...)
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

func sample() Summary {
	start := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	return Summary{
		Pipeline: "web", Workspace: "default", Run: 7, RunID: "r-7", Operation: "apply",
		Result: "failed", Event: EventFailure, Started: start, Finished: start.Add(31 * time.Second), DurationMS: 31000,
		Ran: 2, Failed: []FailedStep{{Addr: "exec.test", Error: "exited with code 1; token hunter2 rejected"}},
		Skipped: []string{"exec.deploy"}, Steps: []StepDuration{{Addr: "exec.test", DurationMS: 1200}},
		Link: "https://ci.example.com/runs/7",
	}
}

func TestSendRetriesAfter500(t *testing.T) {
	rec := &recorder{codes: []int{500, 200}}
	srv := serve(t, rec)
	snd := &Sender{Backoff: time.Millisecond, Redact: func(s string) string { return strings.ReplaceAll(s, "hunter2", "(sensitive)") }}
	err := snd.Send(t.Context(), Target{Name: "team", URL: srv.URL + "/hook", Timeout: 5 * time.Second, Retries: 3}, sample())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("webhook got %d requests, want 2 (500, then 200)", len(reqs))
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[1], &got); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, reqs[1])
	}
	for key, want := range map[string]any{"pipeline": "web", "run": 7.0, "result": "failed", "event": "failure", "link": "https://ci.example.com/runs/7"} {
		if got[key] != want {
			t.Errorf("payload %s = %v, want %v", key, got[key], want)
		}
	}
	failed, _ := got["failed_steps"].([]any)
	if len(failed) != 1 || failed[0].(map[string]any)["addr"] != "exec.test" {
		t.Errorf("failed_steps = %v, want exec.test with its error", got["failed_steps"])
	}
	if text, _ := got["text"].(string); !strings.Contains(text, "run 7 failed after 31s") || !strings.Contains(text, "Failed: exec.test: exited with code 1") {
		t.Errorf("text = %q", text)
	}
	if strings.Contains(string(reqs[1]), "hunter2") {
		t.Errorf("a sensitive value reached the payload:\n%s", reqs[1])
	}
}

func TestSendGivesUpOnSilentServer(t *testing.T) {
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		n++
		mu.Unlock()
		select { // never answers
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done) }) // runs before the server's Close
	snd := &Sender{Backoff: time.Millisecond}
	err := snd.Send(t.Context(), Target{Name: "team", URL: srv.URL + "/hooks/T0KEN", Timeout: 100 * time.Millisecond, Retries: 1}, sample())
	if err == nil {
		t.Fatal("Send to a server that never answers succeeded")
	}
	if !strings.Contains(err.Error(), "try 2 of 2: no answer within 100ms") {
		t.Errorf("error = %q, want it to say the second try got no answer within the timeout", err)
	}
	if strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("error shows the URL: %q", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("server got %d requests, want 2", n)
	}
}

func TestSendDoesNotRetryClientErrors(t *testing.T) {
	rec := &recorder{codes: []int{404}}
	srv := serve(t, rec)
	err := (&Sender{Backoff: time.Millisecond}).Send(t.Context(), Target{URL: srv.URL, Retries: 3}, sample())
	if err == nil || !strings.Contains(err.Error(), "try 1 of 4: the webhook answered 404 Not Found") {
		t.Errorf("error = %v, want a 404 after one try", err)
	}
	if len(rec.requests()) != 1 {
		t.Errorf("got %d requests, want 1", len(rec.requests()))
	}
}

func TestSendUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	err = (&Sender{Backoff: time.Millisecond}).Send(context.Background(), Target{URL: "http://" + addr + "/hooks/T0KEN", Timeout: time.Second}, sample())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the webhook") || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("error = %v, want unreachable without the URL", err)
	}
}

func TestPayloadFormats(t *testing.T) {
	s := sample()
	s.Result, s.Event, s.Failed, s.Waiting = "waiting", EventApproval, nil, []string{"exec.deploy_prod"}
	for _, format := range []string{"slack", "teams"} {
		t.Run(format, func(t *testing.T) {
			rec := &recorder{codes: []int{200}}
			srv := serve(t, rec)
			if err := (&Sender{}).Send(t.Context(), Target{URL: srv.URL, Format: format}, s); err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.requests()[0], &got); err != nil {
				t.Fatalf("payload: %v", err)
			}
			if !strings.Contains(got["text"], "is waiting for approval") || !strings.Contains(got["text"], "ansflow approve exec.deploy_prod") {
				t.Errorf("text = %q", got["text"])
			}
			if format == "teams" && got["@type"] != "MessageCard" {
				t.Errorf("teams payload = %v, want a MessageCard", got)
			}
		})
	}
	if _, err := Payload("xml", s); err == nil {
		t.Error("Payload accepted an unknown format")
	}
}
