// Package safetytest holds end-to-end proofs that ansflow keeps its promises
// under hostile conditions: concurrent applies are locked out, malformed
// pipelines, variable values, plan files and state files get a diagnostic
// naming the file and never change the state, secrets never reach disk or
// the terminal, and files written by a newer ansflow are refused.
//
// The tests run the real binary, built once by internal/clitest (TestMain),
// in temporary pipeline directories with a clean environment. Longer
// variants run with ANSFLOW_LONG=1.
//
// Every case counts towards a promise of the probe report (probe_test.go):
// the tests tally the cases tried and broken per promise and the largest
// input each limit was tested with, and write them to the file
// ANSFLOW_RELIABILITY_REPORT names; `make reliability` (hack/reliability.sh)
// runs this package and internal/crashtest and prints the table. The case
// tables: cases_input_test.go (malformed pipelines, variables, plans and
// states), cases_special_test.go (special and oversized files),
// cases_bounded_test.go (recursion, diagnostics and size limits),
// secrets_sidedoor_test.go and secrets_hash_test.go (secrets), and
// logpaths_test.go (log file names).
package safetytest
