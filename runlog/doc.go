// Package runlog keeps the record of one apply as it happens: an
// append-only file of JSON lines, .ansflow/logs/<run>/events.jsonl, written
// by apply and read back by `ansflow history -stats` and `ansflow ui` (which
// follows it while the apply runs).
//
// The first line, of type "run_start", names the run and lists every step of
// the plan with its action, reasons and dependencies. The step events that
// follow have the shape of `ansflow apply -json`'s (docs/json-events.md):
// step_start, step_progress, step_retry and step_end, with the time the
// engine saw them; log lines are left out (they are in the step's .stdout and
// .stderr files). A last "apply_summary" line ends the run. A file without
// it belongs to a run still going, or one that was killed.
package runlog
