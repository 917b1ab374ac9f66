package web

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/ansflow/ansflow/internal/uifixture"
	"github.com/ansflow/ansflow/state"
)

// BenchmarkRunPage5000 renders the page of a run of 5,000 steps: reading
// the state and the events file, laying out and drawing the graph and the
// timeline, and the table. bench/ui.sh runs it with the Chromium timing.
func BenchmarkRunPage5000(b *testing.B) { benchRunPage(b, false) }

// BenchmarkRunPage5000Cold is the first view of the run: its events file
// is read and folded each time.
func BenchmarkRunPage5000Cold(b *testing.B) { benchRunPage(b, true) }

func benchRunPage(b *testing.B, cold bool) {
	dir := b.TempDir()
	if err := uifixture.Write(dir, 5000); err != nil {
		b.Fatal(err)
	}
	store := state.NewLocal(state.StateDir(dir), "default")
	s := &Server{Dir: dir, Workspace: "default", ReadState: store.Read}
	h, err := s.Handler()
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		if cold {
			s.cache = runCache{}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), "GET", "/runs/1", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size)/1e6, "MB/page")
}
