// Package safetytest holds end-to-end proofs that ansflow keeps its promises
// under hostile conditions: concurrent applies are locked out, malformed
// pipelines, variable values, plan files and state files get a diagnostic
// naming the file and never change the state, secrets never reach disk or
// the terminal, and files written by a newer ansflow are refused.
//
// The tests build the real binary once (TestMain) and run it in temporary
// pipeline directories. Longer variants run with ANSFLOW_LONG=1.
package safetytest
