// Package notify posts the summary of an apply to webhooks: the notify
// blocks of a pipeline. It knows HTTP and payload formats (generic JSON,
// Slack- and Teams-compatible text) and nothing of the engine: the command
// line builds a Summary from the apply's result and calls Send for every
// target that wants the run's event.
//
// A notification that cannot be delivered, after its retries, is an error
// for the caller to show as a warning; it never changes the apply's result.
package notify
