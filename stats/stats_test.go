package stats

import (
	"testing"
	"time"

	"github.com/ansflow/ansflow/runlog"
	"github.com/google/go-cmp/cmp"
)

func step(addr string, st runlog.Status, d time.Duration, attempts int) *runlog.Step {
	s := &runlog.Step{StepHeader: runlog.StepHeader{Addr: addr}, Status: st, Duration: d}
	for i := 1; i <= attempts; i++ {
		s.Attempts = append(s.Attempts, runlog.Attempt{Number: i})
	}
	return s
}

func TestOf(t *testing.T) {
	sec := time.Second
	runs := []*runlog.Run{
		{Header: runlog.Header{Number: 4}, Steps: []*runlog.Step{step("a", runlog.StatusSucceeded, 1*sec, 1), step("b", runlog.StatusFailed, 9*sec, 3)}},
		{Header: runlog.Header{Number: 5}, Steps: []*runlog.Step{step("a", runlog.StatusSucceeded, 2*sec, 2), step("b", runlog.StatusSkipped, 0, 0)}},
		{Header: runlog.Header{Number: 6}, Steps: []*runlog.Step{step("a", runlog.StatusSucceeded, 3*sec, 1), step("b", runlog.StatusUpToDate, 0, 0)}},
		{Header: runlog.Header{Number: 7}, Steps: []*runlog.Step{step("a", runlog.StatusFailed, 10*sec, 1), step("b", runlog.StatusSucceeded, 4*sec, 1)}},
	}
	got := Of(runs)
	want := Summary{Runs: 4, First: 4, Last: 7, Steps: []Step{
		{Addr: "a", Runs: 4, Succeeded: 3, Failed: 1, Flaky: 1, P50: 2 * sec, P95: 10 * sec, LastFailed: 7},
		{Addr: "b", Runs: 2, Succeeded: 1, Failed: 1, P50: 4 * sec, P95: 9 * sec, LastFailed: 4},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Of (-want +got):\n%s", d)
	}
	if r := got.Steps[0].SuccessRate(); r != 0.75 {
		t.Errorf("success rate of a = %v, want 0.75", r)
	}
	if f := got.Steps[0].Flakiness(); f != 1.0/3 {
		t.Errorf("flakiness of a = %v, want 1/3", f)
	}
	if (Step{}).SuccessRate() != 1 || (Step{}).Flakiness() != 0 {
		t.Error("a step that never ran is neither failing nor flaky")
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {95, 10}, {0, 1}, {100, 10}} {
		if got := Percentile(d, tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}
