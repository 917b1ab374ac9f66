package config

import (
	"fmt"
	"strings"
	"testing"
)

// chainedLocals is a pipeline of n locals, each one more than the one
// before.
func chainedLocals(n int) string {
	var b strings.Builder
	b.WriteString("locals {\n  l0 = 1\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  l%d = local.l%d + 1\n", i, i-1)
	}
	fmt.Fprintf(&b, "}\n\nexec \"a\" {\n  command = [\"echo\", local.l%d]\n}\n", n-1)
	return b.String()
}

func BenchmarkChainedLocals(b *testing.B) {
	for _, n := range []int{1000, 4000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := chainedLocals(n)
			for b.Loop() {
				p := mustLoad(b, writePipeline(b, map[string]string{"main.hcl": src}))
				mustScope(b, p, ScopeOptions{})
			}
		})
	}
}
