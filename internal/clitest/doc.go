// Package clitest is the one harness for tests that run the ansflow binary:
// it builds the real binary at most once per test process (Binary), into
// the user's cache keyed by the source's build ID, so that the packages of
// one `go test ./...` share it and an unchanged source is not linked again
// (Main gives a temporary directory where there is no cache), gives
// every child a clean environment (Environ), runs commands and collects
// their output and exit code (CLI.Run), starts an apply in the background
// to signal it and wait for a marker in its output (CLI.Start), writes
// pipeline directories (Dir, WriteFiles, WriteTxtar) and reads their state
// through package state (ReadState).
//
// The binary is the real ansflow main (cmd/ansflow), so the step supervisor
// that providers/exec starts by running ansflow again with
// ANSFLOW_STEP_SUPERVISOR=1 is the binary under test too. Packages whose
// TestMain is testscript's run the command testscript puts on PATH instead
// (OnPath): it is the same main, in the test binary.
package clitest
