package safetytest

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
)

// The promises the probe checks, as the report names them.
const (
	promiseMalformed = "malformed input gets a diagnostic"
	promiseState     = "state and locks lose nothing"
	promiseSpecial   = "special and huge files are refused"
	promiseSteps     = "steps do not outlive the apply"
	promiseSecrets   = "secrets do not leak"
	promiseHostile   = "hostile input is bounded"
)

// probe counts, per promise, the cases tried and the ones that broke it,
// and, per limit, the largest input tested. `make reliability` prints it
// (ANSFLOW_RELIABILITY_REPORT names the file it is written to).
var probe = struct {
	sync.Mutex
	tried, broke map[string]int
	largest      map[string]int64
}{tried: map[string]int{}, broke: map[string]int{}, largest: map[string]int64{}}

// tally records one case of promise; call it when the case is done.
func tally(t *testing.T, promise string) {
	if promise == "" {
		promise = promiseMalformed
	}
	if t.Skipped() {
		return
	}
	probe.Lock()
	defer probe.Unlock()
	probe.tried[promise]++
	if t.Failed() {
		probe.broke[promise]++
	}
}

// limit records that a limit was tested with an input of size (bytes,
// levels, items: the name says).
func limit(name string, size int64) {
	probe.Lock()
	defer probe.Unlock()
	probe.largest[name] = max(probe.largest[name], size)
}

// writeReport writes the probe's figures to the file named by
// ANSFLOW_RELIABILITY_REPORT, if set.
func writeReport() {
	path := os.Getenv("ANSFLOW_RELIABILITY_REPORT")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer f.Close()
	report(f)
}

// report writes the figures as tab-separated lines, "promise NAME CASES
// BREAKS" and "limit NAME LARGEST", for hack/reliability.sh to print.
func report(w io.Writer) {
	probe.Lock()
	defer probe.Unlock()
	for _, p := range sortedKeys(probe.tried) {
		fmt.Fprintf(w, "promise\t%s\t%d\t%d\n", p, probe.tried[p], probe.broke[p])
	}
	for _, l := range sortedKeys(probe.largest) {
		fmt.Fprintf(w, "limit\t%s\t%d\n", l, probe.largest[l])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
