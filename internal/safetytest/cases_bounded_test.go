package safetytest

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// boundedCases are inputs made to exhaust the parser's stack, the
// terminal or the memory: each must get a diagnostic, quickly and in
// bounded output. n is the size of the recursive ones (500 000; 2 000 000
// with ANSFLOW_LONG=1).
func boundedCases() []hostile {
	n := 500_000
	if longRun() {
		n = 2_000_000
	}
	limit("recursion depth (repetitions of a recursive construct)", int64(n))
	local := func(expr string) string {
		return "locals {\n  a = " + expr + "\n}\n\nexec \"a\" {\n  command = [\"echo\", \"x\"]\n}\n"
	}
	r := strings.Repeat
	c := func(name, src string, want ...string) hostile {
		return hostile{name: "bounded/" + name, promise: promiseHostile, setup: mainHCL(src), args: []string{"validate"},
			want: append([]string{"main.hcl line"}, want...), maxOutput: 64 << 10}
	}
	deep := "Too deeply nested"
	cases := []hostile{
		c("unary minus", local(r("- ", n)+"1"), deep),
		c("unary not", local(r("!", n)+"true"), deep),
		c("unary minus on parentheses", local(r("-(", n)+"1"+r(")", n)), deep),
		c("conditionals", local(r("true ? 1 : ", n)+"1"), deep),
		c("conditionals over lines", local("("+r("true ? 1 :\n", n)+"1)"), deep),
		c("splats", local("local.b"+r("[*]", n)), deep),
		c("attribute splats", local("local.b"+r(".*", n)), deep),
		c("nested templates", local(r(`"${`, n)+"1"+r(`}"`, n)), deep),
		c("template if directives", local(`"`+r("%{ if true }", n)+"x"+r("%{ endif }", n)+`"`), deep),
		c("template for directives", local(`"`+r("%{ for x in [1] }", n)+"x"+r("%{ endfor }", n)+`"`), deep),
		c("heredoc interpolations", "locals {\n  a = <<EOT\n"+r("${", n)+"1"+r("}", n)+"\nEOT\n}\n", deep),
		c("for expressions", local(r("[for x in ", n)+"[1]"+r(": x]", n)), deep),
		c("nested blocks", "locals {\n"+r("x {\n", n)+r("}\n", n)+"}\n", deep),
		c("function calls", local(r("abs(", n)+"1"+r(")", n)), deep),
		c("objects", local(r("{a = ", n)+"1"+r("}", n)), deep),
	}
	// Deep values from -var, a var file and a template file.
	cases = append(cases,
		hostile{name: "bounded/var file of unary operators", promise: promiseHostile,
			setup: func(t *testing.T, w *workspace) { w.write(t, "x.vars.hcl", []byte("n = "+r("- ", n)+"1\n")) },
			args:  []string{"plan", "-var-file=x.vars.hcl"}, want: []string{"x.vars.hcl", deep}, maxOutput: 64 << 10},
		hostile{name: "bounded/-var of nested lists", promise: promiseHostile, setup: mainHCL(sidePW + "variable \"l\" {\n  type = any\n}\n\nexec \"a\" {\n  command = [\"echo\"]\n}\n"),
			env: []string{"ANSFLOW_VAR_pw=xxx", "ANSFLOW_VAR_l=" + r("[", 65_000) + r("]", 65_000)}, args: []string{"plan"}, want: []string{"nests more than"}, maxOutput: 64 << 10},
		hostile{name: "bounded/templatefile of nested directives", promise: promiseHostile,
			setup: func(t *testing.T, w *workspace) {
				w.write(t, "t.tpl", []byte(r("%{ if true }", n)+"x"+r("%{ endif }", n)))
				w.write(t, "main.hcl", []byte(local(`templatefile("t.tpl", {})`)))
			}, args: []string{"plan"}, want: []string{"t.tpl", "nests more than"}, maxOutput: 64 << 10},
	)
	// 10 KB of stray characters: a capped number of diagnostics.
	stray := make([]byte, 10_000)
	rng := rand.New(rand.NewSource(1))
	for i := range stray {
		stray[i] = "@$^&|~`\\;"[rng.Intn(9)]
	}
	limit("diagnostics per file (bytes of stray characters)", int64(len(stray)))
	cases = append(cases, hostile{name: "bounded/10 KB of stray characters", promise: promiseHostile, setup: mainHCL(local("1 " + string(stray))),
		args: []string{"validate"}, want: []string{"more problems in"}, maxOutput: 1 << 20})
	// Function results and decoded documents.
	fn := func(name, expr string, want string) hostile {
		return hostile{name: "bounded/" + name, promise: promiseHostile, setup: mainHCL(local(expr)), args: []string{"plan"},
			want: []string{"main.hcl line 2", want}, maxOutput: 64 << 10}
	}
	limit("function result (elements)", 100*100*100*100)
	cases = append(cases,
		fn("setproduct of four 100-element lists", "length(setproduct(range(100), range(100), range(100), range(100)))", "more than"),
		fn("setproduct of two 2000-element lists", "length(setproduct(range(1000), range(1000), range(1000)))", "more than"),
		fn("YAML billion laughs", "yamldecode("+billionLaughs()+")", "expands to more than"),
		fn("YAML alias cycle", `yamldecode("a: &a [*a]")`, ""),
		fn("format width", `format("%999999999d", 1)`, "width or precision"),
		fn("formatlist precision", `formatlist("%.999999999f", [1])`, "width or precision"),
		hostile{name: "bounded/concat doubling through locals", promise: promiseHostile, setup: mainHCL(doubling(22)), args: []string{"plan"},
			want: []string{"main.hcl line", "too large"}, maxOutput: 64 << 10},
	)
	return cases
}

// billionLaughs is a quoted 1 KB YAML document whose aliases expand to
// 9^10 strings.
func billionLaughs() string {
	lines := []string{`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`}
	for i := 1; i < 10; i++ {
		prev, name := string(rune('a'+i-1)), string(rune('a'+i))
		lines = append(lines, fmt.Sprintf("%s: &%s [%s]", name, name, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",")))
	}
	q, _ := json.Marshal(strings.Join(lines, "\n"))
	return string(q)
}

// doubling is a pipeline whose locals double a list k times: 2^k
// elements.
func doubling(k int) string {
	var b strings.Builder
	b.WriteString("locals {\n  a0 = [\"x\"]\n")
	for i := 1; i <= k; i++ {
		fmt.Fprintf(&b, "  a%d = concat(local.a%d, local.a%d)\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "}\n\nexec \"a\" {\n  command = [\"echo\", length(local.a%d)]\n}\n", k)
	return b.String()
}
