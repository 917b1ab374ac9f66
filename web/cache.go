package web

import (
	"os"
	"sync"
	"time"

	"github.com/ansflow/ansflow/runlog"
	"github.com/ansflow/ansflow/state"
)

// runCache keeps runs read from their events files, each valid while its
// file keeps the same size and modification time (a finished run's file
// never changes again). The runs in it are shared: read them, never change
// them.
type runCache struct {
	mu sync.Mutex
	m  map[string]cachedRun
}

type cachedRun struct {
	size    int64
	mod     time.Time
	renames int // len(State.Moved) when it was read
	run     *runlog.Run
}

// cacheSize is how many runs the cache holds.
const cacheSize = 64

// run returns run number of st's workspace, from its events file or, for
// a run without one, from the state.
func (s *Server) run(st *state.State, number int) (*runlog.Run, error) {
	path := runlog.Path(s.Dir, st.Workspace, number)
	fi, err := os.Stat(path)
	if err != nil {
		return runlog.Load(s.Dir, st, number)
	}
	c := &s.cache
	c.mu.Lock()
	hit, ok := c.m[path]
	c.mu.Unlock()
	if ok && hit.size == fi.Size() && hit.mod.Equal(fi.ModTime()) && hit.renames == len(st.Moved) {
		return hit.run, nil
	}
	r, _, err := runlog.Read(path)
	if err != nil {
		return nil, err
	}
	r.FollowRenames(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheSize {
		c.m = map[string]cachedRun{}
	}
	c.m[path] = cachedRun{size: fi.Size(), mod: fi.ModTime(), renames: len(st.Moved), run: r}
	return r, nil
}

// lastRuns is runlog.Last through the cache.
func (s *Server) lastRuns(st *state.State, n int) []*runlog.Run {
	recs := st.Runs
	if n > 0 && len(recs) > n {
		recs = recs[len(recs)-n:]
	}
	out := make([]*runlog.Run, 0, len(recs))
	for _, rec := range recs {
		r, err := s.run(st, rec.Number)
		if err != nil || len(r.Steps) == 0 && r.Started.IsZero() {
			r = runlog.FromState(st, rec.Number)
		}
		out = append(out, r)
	}
	return out
}
