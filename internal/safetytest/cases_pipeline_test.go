package safetytest

import (
	"os"
	"strings"
	"testing"
)

// step wraps attribute lines in an exec step that is otherwise valid; the
// attributes start on line 2.
func step(attrs ...string) string {
	return "exec \"x\" {\n" + strings.Join(attrs, "\n") + "\n  command = [\"true\"]\n}\n"
}

// pipelineCases are malformed pipeline files beyond config/testdata/bad:
// encodings, sizes, nesting, unterminated constructs, cycles, functions
// failing on bad input, bad meta-arguments.
func pipelineCases() []hostile {
	long := strings.Repeat("x", 10000)
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	c := func(name, src string, want ...string) hostile {
		return hostile{name: "pipeline/" + name, setup: mainHCL(src), want: want}
	}
	return []hostile{
		{name: "pipeline/binary garbage", setup: func(t *testing.T, w *workspace) {
			w.write(t, "main.hcl", garbage(1, 4096))
		}, want: []string{"main.hcl"}},
		{name: "pipeline/NUL bytes", setup: func(t *testing.T, w *workspace) {
			w.write(t, "main.hcl", []byte("exec \"x\" {\n  command = [\"a\"]\n\x00\x00}\n"))
		}, want: []string{at("main.hcl", 3)}},
		{name: "pipeline/invalid UTF-8 in a string", setup: func(t *testing.T, w *workspace) {
			w.write(t, "main.hcl", []byte("exec \"x\" {\n  command = [\"a\xff\xfeb\"]\n}\n"))
		}, want: []string{at("main.hcl", 2), "UTF-8"}},
		{name: "pipeline/invalid UTF-8 in a label", setup: func(t *testing.T, w *workspace) {
			w.write(t, "main.hcl", []byte("exec \"x\xc3\x28\" {\n  command = [\"a\"]\n}\n"))
		}, want: []string{at("main.hcl", 1)}},
		{name: "pipeline/UTF-16 file", setup: func(t *testing.T, w *workspace) {
			w.write(t, "main.hcl", []byte("\xff\xfee\x00x\x00e\x00c\x00 \x00\"\x00x\x00\"\x00"))
		}, want: []string{at("main.hcl", 1)}},
		c("unterminated string", "exec \"x\" {\n  command = [\"abc\n}\n", at("main.hcl", 2)),
		c("unterminated heredoc", "exec \"x\" {\n  command = [<<EOT\nabc\n", "main.hcl line"),
		c("heredoc with the wrong closing marker", "exec \"x\" {\n  command = [<<EOT\nabc\nEOF\n]\n}\n", "main.hcl line"),
		c("unterminated block comment", "/* a comment\nexec \"x\" {\n  command = [\"a\"]\n}\n", at("main.hcl", 1)),
		c("unterminated interpolation", step(`  env = { A = "${var.n" }`), at("main.hcl", 2)),
		c("unterminated template directive", step(`  env = { A = "%{ if true }yes" }`), at("main.hcl", 2)),
		c("unclosed block at end of file", "exec \"x\" {\n  command = [\"a\"]\n", "main.hcl line"),
		c("lone brace", "{\n", at("main.hcl", 1)),
		c("closing brace only", "}\n", at("main.hcl", 1)),
		c("huge integer literal", step("  expect_exit_code = 1"+strings.Repeat("9", 400)), "main.hcl line", "expect_exit_code"),
		c("huge exponent", step("  expect_exit_code = 1e999999999"), "main.hcl line", "expect_exit_code"),
		c("fractional exit code", step("  expect_exit_code = 1.5"), "main.hcl line", "expect_exit_code"),
		c("negative timeout", step(`  timeout = "-5s"`), at("main.hcl", 2)),
		c("timeout not a duration", step(`  timeout = "forever"`), at("main.hcl", 2)),
		c("timeout with a huge number", step(`  timeout = "99999999999999999999h"`), at("main.hcl", 2)),
		c("retry attempts negative", step("  retry {\n    attempts = -1\n  }"), at("main.hcl", 3)),
		c("retry delay not a duration", step("  retry {\n    attempts = 2\n    delay = \"1 fortnight\"\n  }"), at("main.hcl", 4)),
		c("when not a bool", step(`  when = "maybe"`), at("main.hcl", 2)),
		c("continue_on_error a list", step(`  continue_on_error = [true]`), at("main.hcl", 2)),
		c("10k-character attribute name", step("  "+long+" = 1"), at("main.hcl", 2)),
		c("10k-character block type", long+" \"x\" {\n}\n", at("main.hcl", 1)),
		c("10k-character variable reference", step("  env = { A = var."+long+" }"), at("main.hcl", 2)),
		c("10k-character function name", step("  env = { A = "+long+"() }"), at("main.hcl", 2)),
		c("deeply nested list of the wrong type", step("  env = "+nested(2000)), at("main.hcl", 2)),
		c("deeply nested parentheses with an error", step("  env = "+strings.Repeat("(", 2000)+"1"+strings.Repeat(")", 2000)), at("main.hcl", 2)),
		c("step label with a space", "exec \"a b\" {\n  command = [\"a\"]\n}\n", at("main.hcl", 1)),
		c("empty step label", "exec \"\" {\n  command = [\"a\"]\n}\n", at("main.hcl", 1)),
		c("depends_on cycle", "exec \"a\" {\n  command = [\"a\"]\n  depends_on = [exec.b]\n}\nexec \"b\" {\n  command = [\"b\"]\n  depends_on = [exec.a]\n}\n", "main.hcl", "cycle"),
		c("reference cycle through env", "exec \"a\" {\n  command = [\"a\"]\n  env = { X = exec.b.stdout }\n}\nexec \"b\" {\n  command = [\"b\"]\n  env = { X = exec.a.stdout }\n}\n", "main.hcl", "cycle"),
		c("step refers to itself", step("  env = { X = exec.x.stdout }"), at("main.hcl", 2)),
		c("for_each refers to itself", step("  for_each = toset([exec.x.stdout])"), at("main.hcl", 2)),
		c("cycle through for_each and locals", "locals {\n  s = toset([for k, v in local.m : k])\n  m = { for k in local.s : k => k }\n}\n", "main.hcl line", "ycle"),
		c("for_each through a local that refers to a step", "locals {\n  m = toset([exec.y.stdout])\n}\nexec \"y\" {\n  command = [\"y\"]\n}\nexec \"x\" {\n  for_each = local.m\n  command = [each.key]\n}\n", at("main.hcl", 2)),
		c("for_each with duplicate keys", step(`  for_each = { for s in ["a", "a"] : s => s }`), at("main.hcl", 2)),
		c("for_each over a string", step(`  for_each = "abc"`), at("main.hcl", 2)),
		c("each.value without for_each", step(`  env = { A = each.value }`), at("main.hcl", 2)),
		c("file of a missing path", step(`  env = { A = file("no-such-file.txt") }`), at("main.hcl", 2)),
		c("jsondecode of broken JSON", step(`  env = { A = jsondecode("{") }`), at("main.hcl", 2)),
		c("yamldecode of broken YAML", step(`  env = { A = yamldecode("a: [") }`), at("main.hcl", 2)),
		c("templatefile of a missing template", step(`  env = { A = templatefile("none.tpl", {}) }`), at("main.hcl", 2)),
		c("invalid regular expression", step(`  env = { A = regex("(", "x") }`), at("main.hcl", 2)),
		c("tonumber of a word", step(`  expect_exit_code = tonumber("seven")`), at("main.hcl", 2)),
		c("map interpolated into a string", step(`  env = { A = "${ { a = 1 } }" }`), at("main.hcl", 2)),
		c("env with no arguments", step(`  env = { A = env() }`), at("main.hcl", 2)),
		c("division result to exit code", step(`  expect_exit_code = 1 / 0`), "main.hcl line", "expect_exit_code"),
		c("infinite output", "locals {\n  inf = 1 / 0\n}\n\noutput \"o\" {\n  value = local.inf\n}\n", "main.hcl line"),
		hostile{name: "pipeline/infinite replicas", setup: mainHCL("k8s_scale \"s\" {\n  kind     = \"deployment\"\n  name     = \"x\"\n  replicas = 1 / 0\n}\n"),
			args: []string{"plan", "-refresh=false"}, want: []string{"main.hcl line", "replicas"}},
		c("index out of range", step(`  env = { A = ["a"][5] }`), at("main.hcl", 2)),
		c("attribute of null", step(`  env = { A = null.x }`), at("main.hcl", 2)),
		c("variable type misspelt", "variable \"v\" {\n  type = strng\n}\n", at("main.hcl", 2)),
		c("variable default of the wrong type", "variable \"v\" {\n  type = number\n  default = \"x\"\n}\n", at("main.hcl", 3)),
		c("variable validation fails on the default", "variable \"v\" {\n  default = \"ab\"\n  validation {\n    condition = var.v != \"ab\"\n    error_message = \"Too short.\"\n  }\n}\n", "main.hcl line", "Too short."),
		c("count is not supported", step(`  count = 2`), at("main.hcl", 2)),
		c("docker_build without an image", "docker_build \"b\" {\n  context = \".\"\n}\n", at("main.hcl", 1)),
		c("k8s_deploy replicas a word", "k8s_deploy \"d\" {\n  name = \"d\"\n  image = \"i\"\n  replicas = \"two\"\n}\n", at("main.hcl", 4)),
		{name: "pipeline/syntax error in a second file", setup: func(t *testing.T, w *workspace) {
			w.write(t, "b.hcl", []byte("exec \"b\" {\n  command = [\"b\"\n}\n"))
		}, want: []string{"b.hcl line"}},
		{name: "pipeline/garbage in an auto.vars.hcl file", setup: func(t *testing.T, w *workspace) {
			w.write(t, "x.auto.vars.hcl", []byte("n = = 3\n"))
		}, want: []string{at("x.auto.vars.hcl", 1)}},
		{name: "pipeline/dangling symlink", setup: func(t *testing.T, w *workspace) {
			if err := os.Symlink("nowhere.txt", w.path("dangling.hcl")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"dangling.hcl"}},
	}
}
