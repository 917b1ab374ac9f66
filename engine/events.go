package engine

import "time"

// EventType names what happened during an apply.
type EventType string

const (
	EventStepStart    EventType = "step_start"
	EventStepProgress EventType = "step_progress"
	EventStepLog      EventType = "log"
	EventStepRetry    EventType = "step_retry"
	EventStepEnd      EventType = "step_end"
)

// Result of one step in an apply.
type Result string

const (
	ResultOK        Result = "ok"
	ResultFailed    Result = "failed"
	ResultSkipped   Result = "skipped"     // an upstream step failed
	ResultUnchanged Result = "unchanged"   // planned, but nothing to do after all
	ResultNotRun    Result = "not_started" // interrupted before it started
)

// Event is one thing that happened to a step during an apply. Observers are
// called from many goroutines and must be safe for concurrent use.
type Event struct {
	Type     EventType     `json:"type"`
	Time     time.Time     `json:"time"`
	Addr     string        `json:"addr"`
	Action   Action        `json:"action"`
	Message  string        `json:"message,omitempty"` // progress text or log line
	Stream   string        `json:"stream,omitempty"`  // stdout | stderr for log events
	Attempt  int           `json:"attempt,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Result   Result        `json:"result,omitempty"`
	Error    string        `json:"error,omitempty"`
	// ID is a short identity of what the step produced, for "[id=...]".
	ID string `json:"id,omitempty"`
}

// Observer receives apply events.
type Observer func(Event)
