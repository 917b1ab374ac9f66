package crashtest

import (
	"fmt"
	"os"
)

// Promises as the reliability report (hack/reliability.sh) names them.
const (
	promiseState = "state and locks lose nothing"
	promiseSteps = "steps do not outlive the apply"
)

// report appends a promise's figures to the file named by
// ANSFLOW_RELIABILITY_REPORT, if set (see internal/safetytest).
func report(promise string, cases, breaks int) {
	path := os.Getenv("ANSFLOW_RELIABILITY_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "promise\t%s\t%d\t%d\n", promise, cases, breaks)
}
