// Package web is `ansflow ui`: a read-only dashboard of one pipeline
// directory, served by the binary itself. It shows the runs of the history,
// each run's step graph and timeline (live while an apply runs, by
// server-sent events that follow the run's events file), each step's
// attempts, values and logs, saved plans, and per-step statistics.
//
// Everything it serves is embedded: templates, one stylesheet and one
// script, under a Content-Security-Policy that allows nothing else (no
// inline script or style, nothing from another origin). No endpoint writes:
// only GET and HEAD are accepted. Values come from the state, the logs and
// the events files, where secrets were already replaced by "(sensitive
// value)" or a hash, which the dashboard also shows as "(sensitive value)".
package web
