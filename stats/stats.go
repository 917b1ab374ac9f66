// Package stats sums up how each step fared over a number of runs: how
// often it succeeded, how long it took (median and 95th percentile), and
// how flaky it is (it passed, but only after a retry). The terminal
// (`ansflow history -stats`) and the dashboard show the same numbers.
package stats

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/ansflow/ansflow/runlog"
)

// Step is the summary of one step address.
type Step struct {
	Addr string `json:"addr"`
	// Runs is how many of the runs did something with the step (it
	// succeeded or failed; up to date and skipped do not count).
	Runs      int `json:"runs"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// Flaky is how many successes needed more than one attempt.
	Flaky int           `json:"flaky"`
	P50   time.Duration `json:"p50"`
	P95   time.Duration `json:"p95"`
	// LastFailed is the number of the last run in which it failed (0: none).
	LastFailed int `json:"last_failed,omitempty"`
}

// SuccessRate is Succeeded/Runs, between 0 and 1 (1 when it never ran).
func (s Step) SuccessRate() float64 {
	if s.Runs == 0 {
		return 1
	}
	return float64(s.Succeeded) / float64(s.Runs)
}

// Flakiness is Flaky/Succeeded, between 0 and 1.
func (s Step) Flakiness() float64 {
	if s.Succeeded == 0 {
		return 0
	}
	return float64(s.Flaky) / float64(s.Succeeded)
}

// Summary is the statistics of a set of runs.
type Summary struct {
	Runs  int    `json:"runs"` // runs looked at
	First int    `json:"first,omitempty"`
	Last  int    `json:"last,omitempty"`
	Steps []Step `json:"steps"` // by address
}

// Of computes the statistics of runs.
func Of(runs []*runlog.Run) Summary {
	sum := Summary{Runs: len(runs)}
	if len(runs) > 0 {
		sum.First, sum.Last = runs[0].Number, runs[len(runs)-1].Number
	}
	by := map[string]*Step{}
	durations := map[string][]time.Duration{}
	for _, r := range runs {
		for _, s := range r.Steps {
			if s.Status != runlog.StatusSucceeded && s.Status != runlog.StatusFailed {
				continue
			}
			st := by[s.Addr]
			if st == nil {
				st = &Step{Addr: s.Addr}
				by[s.Addr] = st
			}
			st.Runs++
			durations[s.Addr] = append(durations[s.Addr], s.Duration)
			if s.Status == runlog.StatusFailed {
				st.Failed++
				st.LastFailed = max(st.LastFailed, r.Number)
				continue
			}
			st.Succeeded++
			if s.Retried() {
				st.Flaky++
			}
		}
	}
	for addr, st := range by {
		d := durations[addr]
		slices.Sort(d)
		st.P50, st.P95 = Percentile(d, 50), Percentile(d, 95)
		sum.Steps = append(sum.Steps, *st)
	}
	sort.Slice(sum.Steps, func(i, j int) bool { return sum.Steps[i].Addr < sum.Steps[j].Addr })
	return sum
}

// Percentile returns the p-th percentile (nearest rank) of sorted
// durations, 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
