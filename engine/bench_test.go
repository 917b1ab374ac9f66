package engine_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ansflow/ansflow/bench/fakeexec"
	"github.com/ansflow/ansflow/bench/pipegen"
	"github.com/ansflow/ansflow/config"
	"github.com/ansflow/ansflow/engine"
	"github.com/ansflow/ansflow/providers"
	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/ansflow/ansflow/state"
	"github.com/zclconf/go-cty/cty"
)

// engineCases are the generated pipelines the engine is measured on.
var engineCases = []struct {
	shape pipegen.Shape
	n     int
}{
	{pipegen.Fan, 1000},
	{pipegen.Fan, 10000},
	{pipegen.Chain, 1000},
	{pipegen.Chain, 10000},
	{pipegen.Layers, 1000},
	{pipegen.Layers, 10000},
}

func caseName(shape pipegen.Shape, n int) string { return string(shape) + "-" + strconv.Itoa(n) }

// benchPipeline is a generated pipeline loaded and ready to plan.
type benchPipeline struct {
	dir  string
	p    *config.Pipeline
	vars map[string]cty.Value
	n    int
}

func loadBenchPipeline(b *testing.B, shape pipegen.Shape, n int) *benchPipeline {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "p")
	if err := pipegen.WriteDir(dir, shape, n, pipegen.Options{}); err != nil {
		b.Fatal(err)
	}
	p, diags := loadPipeline(dir)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	vars, diags := p.ResolveVariables(config.VarInputs{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	return &benchPipeline{dir: dir, p: p, vars: vars, n: n}
}

// engine returns an engine on the pipeline with its state in stateDir and
// the given step types. Git and the clock are fixed so nothing outside the
// engine is measured.
func (bp *benchPipeline) engine(stateDir string, reg providers.Registry) *engine.Engine {
	return &engine.Engine{
		Dir:       bp.dir,
		Workspace: "default",
		Store:     state.NewLocal(stateDir, "default"),
		Providers: reg,
		Git:       &config.GitInfo{},
		Now:       func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
		User:      "bench",
	}
}

func (bp *benchPipeline) plan(b *testing.B, eng *engine.Engine, st *state.State, o engine.Options) *engine.Plan {
	b.Helper()
	plan, diags := eng.Plan(context.Background(), bp.p, st, bp.vars, o)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	return plan
}

func (bp *benchPipeline) apply(b *testing.B, eng *engine.Engine, st *state.State, plan *engine.Plan) {
	b.Helper()
	res, diags := eng.Apply(context.Background(), engine.ApplyOptions{Pipeline: bp.p, State: st, Plan: plan, Vars: bp.vars, Parallelism: 10, Stop: make(chan struct{})})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	if !res.OK() {
		b.Fatalf("apply failed: %+v", res.Failures)
	}
}

func closeStore(b *testing.B, s state.Store) {
	if c, ok := s.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}
}

func perStep(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/step")
}

// BenchmarkPlanEmpty measures Plan (refresh off) on an empty state: every
// step is evaluated and planned to run.
func BenchmarkPlanEmpty(b *testing.B) {
	for _, c := range engineCases {
		b.Run(caseName(c.shape, c.n), func(b *testing.B) {
			bp := loadBenchPipeline(b, c.shape, c.n)
			eng := bp.engine(filepath.Join(bp.dir, ".ansflow", "state"), builtin.Registry())
			st := state.New("default")
			b.ReportAllocs()
			for b.Loop() {
				bp.plan(b, eng, st, engine.Options{Refresh: false})
			}
			perStep(b, c.n)
		})
	}
}

// BenchmarkPlanNoop measures Plan on a state that already records every
// step (made by one Apply in the setup), with and without refresh: the
// "nothing to do" path a CI run takes most often.
func BenchmarkPlanNoop(b *testing.B) {
	for _, c := range engineCases {
		b.Run(caseName(c.shape, c.n), func(b *testing.B) {
			bp := loadBenchPipeline(b, c.shape, c.n)
			stateDir := filepath.Join(bp.dir, ".ansflow", "state")
			st := appliedState(b, bp, stateDir)
			eng := bp.engine(stateDir, builtin.Registry())
			for _, refresh := range []bool{false, true} {
				b.Run("refresh="+strconv.FormatBool(refresh), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						plan := bp.plan(b, eng, st, engine.Options{Refresh: refresh})
						if plan.HasChanges() {
							b.Fatal("the plan after an apply has changes")
						}
					}
					perStep(b, c.n)
				})
			}
		})
	}
}

// appliedState applies the pipeline once (with a fork-free exec) and
// returns the state read back from the store, as the CLI would.
func appliedState(b *testing.B, bp *benchPipeline, stateDir string) *state.State {
	b.Helper()
	eng := bp.engine(stateDir, providers.Registry{"exec": fakeexec.Step{}})
	defer closeStore(b, eng.Store)
	ctx := context.Background()
	st, err := eng.Store.Read(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bp.apply(b, eng, st, bp.plan(b, eng, st, engine.Options{}))
	st, err = eng.Store.Read(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkApply measures Apply of a fresh plan on an empty state with a
// fork-free exec step type: everything apply does per step (evaluation,
// logs, journal records, events, the final snapshot) except running the
// command. Add the cost of a fork+exec (bench/truecost) for a real run.
func BenchmarkApply(b *testing.B) {
	for _, c := range engineCases {
		b.Run(caseName(c.shape, c.n), func(b *testing.B) {
			bp := loadBenchPipeline(b, c.shape, c.n)
			reg := providers.Registry{"exec": fakeexec.Step{}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				eng := bp.engine(filepath.Join(bp.dir, ".ansflow", "state-"+strconv.Itoa(i)), reg)
				st := state.New("default")
				plan := bp.plan(b, eng, st, engine.Options{})
				b.StartTimer()
				bp.apply(b, eng, st, plan)
				b.StopTimer()
				closeStore(b, eng.Store)
				b.StartTimer()
			}
			perStep(b, c.n)
		})
	}
}
