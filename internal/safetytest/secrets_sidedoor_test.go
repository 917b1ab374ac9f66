package safetytest

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ansflow/ansflow/internal/clitest"
)

// sidePW declares the sensitive variable the side-door cases carry.
const sidePW = `variable "pw" {
  type      = string
  sensitive = true
}
`

// secretForms are the canary and values derived from it that the
// side-door pipelines compute: none may be printed or written.
func secretForms(secret string) []string {
	return []string{
		secret,
		strings.ToLower(secret),
		strings.ToUpper(secret) + "!",
		base64.StdEncoding.EncodeToString([]byte(secret)),
		strings.ReplaceAll(secret, "-", "_"),
		secret[:9],
	}
}

// testPEM is a multi-line secret whose lines hold the canary.
var testPEM = "-----BEGIN TEST KEY-----\n" + canary + "AAAAB3NzaC1yc2EAAAADAQAB\nAAABAQC7" + canary + "x9\n-----END TEST KEY-----"

type sideDoor struct {
	name  string
	src   string   // main.hcl after the variable
	args  []string // default: plan
	value string   // of var.pw; default canary
	fail  bool     // the command must fail (a diagnostic)
	want  string   // in the output
}

// sideDoorCases: diagnostics whose subject is sensitive, and logs of
// values derived from a secret.
func sideDoorCases() []sideDoor {
	local := func(expr string) string {
		return "locals {\n  x = " + expr + "\n}\n\nexec \"a\" {\n  command = [\"echo\", local.x]\n}\n"
	}
	step := func(attrs string) string { return "exec \"a\" {\n  command = [\"echo\"]\n" + attrs + "\n}\n" }
	validation := func(cond, msg string) string {
		return strings.Replace(sidePW, "sensitive = true", "sensitive = true\n  validation {\n    condition     = "+cond+"\n    error_message = "+msg+"\n  }", 1) + step("")
	}
	var cases []sideDoor
	for _, fn := range []string{"tonumber(var.pw)", "tobool(var.pw)", "parseint(var.pw, 10)", "file(var.pw)", "filebase64(var.pw)",
		"templatefile(var.pw, {})", "filesha256(var.pw)", "file(lower(var.pw))", "tonumber(substr(var.pw, 0, 9))", "tonumber(\"${var.pw}-x\")",
		"jsondecode(var.pw)", "yamldecode(\"[${var.pw}\")", "base64decode(var.pw)", "cidrhost(var.pw, 1)", "formatdate(var.pw, \"2020-01-01T00:00:00Z\")",
		"regex(\"(\", var.pw)", "element([var.pw], \"x\")", "csvdecode(\"a\\n${var.pw},b\")"} {
		cases = append(cases, sideDoor{name: "function " + fn, src: sidePW + local(fn), fail: true})
		cases = append(cases, sideDoor{name: "function " + fn + " (-json)", src: sidePW + local(fn), args: []string{"plan", "-json"}, fail: true})
	}
	cases = append(cases,
		sideDoor{name: "validation condition fails", src: validation("length(var.pw) > 100", `"too short"`), fail: true},
		sideDoor{name: "validation condition errors", src: validation("tonumber(var.pw) > 0", `"a number"`), fail: true},
		sideDoor{name: "error_message interpolates the secret", src: validation(`var.pw == "nope"`, `"too short: ${var.pw}"`), fail: true, want: "too short: (sensitive value)"},
		sideDoor{name: "error_message interpolates a derived value", src: validation(`var.pw == "nope"`, `"too short: ${lower(var.pw)}"`), fail: true},
		sideDoor{name: "timeout", src: sidePW + step("  timeout = var.pw"), fail: true},
		sideDoor{name: "retry delay", src: sidePW + step("  retry {\n    delay = var.pw\n  }"), fail: true},
		sideDoor{name: "retry attempts", src: sidePW + step("  retry {\n    attempts = var.pw\n  }"), fail: true},
		sideDoor{name: "when", src: sidePW + step("  when = var.pw"), fail: true},
		sideDoor{name: "expect_exit_code", src: sidePW + step("  expect_exit_code = var.pw"), fail: true},
		sideDoor{name: "sources", src: sidePW + step("  sources = [var.pw]"), fail: true},
		sideDoor{name: "sources derived", src: sidePW + step("  sources = [\"../${lower(var.pw)}\"]"), fail: true},
		sideDoor{name: "for_each key", src: sidePW + "exec \"a\" {\n  for_each = toset([var.pw])\n  command  = [\"echo\"]\n}\n", fail: true},
		sideDoor{name: "derived values in one argument", args: []string{"apply", "-auto-approve"}, src: sidePW + "exec \"a\" {\n" +
			`  command = ["sh", "-c", "echo ${lower(var.pw)}; echo ${base64encode(var.pw)}; echo ${substr(var.pw, 0, 9)}; echo ${replace(var.pw, "-", "_")}; echo ${format("%s!", upper(var.pw))}; echo done"]` + "\n}\n"},
		sideDoor{name: "derived values (-json)", args: []string{"apply", "-auto-approve", "-json"}, src: sidePW + "exec \"a\" {\n" +
			`  command = ["sh", "-c", "echo ${lower(var.pw)}-x; echo ${base64encode(var.pw)}; echo ${replace(var.pw, "-", "_")}"]` + "\n}\n"},
		sideDoor{name: "PEM printed line by line", args: []string{"apply", "-auto-approve"}, value: testPEM, src: sidePW + "exec \"a\" {\n" +
			`  command = ["sh", "-c", "printf '%s\\n' \"$K\"; printf '%s\\r\\n' \"$K\""]` + "\n  env = { K = var.pw }\n}\n"},
		sideDoor{name: "secret across the 64 KiB read", args: []string{"apply", "-auto-approve"}, src: sidePW + "exec \"a\" {\n" +
			`  command = ["sh", "-c", "head -c 65530 /dev/zero | tr '\\000' x; printf '%s\\n' \"$K\"; head -c 65531 /dev/zero | tr '\\000' y; printf '%s' \"$K\""]` + "\n  env = { K = var.pw }\n}\n"},
		sideDoor{name: "short secret warns", value: "ab", src: sidePW + step(""), want: "too short to redact"},
	)
	return cases
}

// TestSecretsSideDoors runs each side-door case and looks for every form
// of the secret in the output, in the logs, the state and every file
// ansflow wrote.
func TestSecretsSideDoors(t *testing.T) {
	for _, c := range sideDoorCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			defer tally(t, promiseSecrets)
			value := c.value
			if value == "" {
				value = canary
			}
			forms := secretForms(canary)
			if value == testPEM {
				forms = append(forms, strings.Split(testPEM, "\n")[1:3]...)
			}
			if len(value) < 3 {
				forms = nil
			}
			dir := clitest.Dir(t, map[string]string{"main.hcl": c.src})
			env := []string{"ANSFLOW_VAR_pw=" + value}
			args := c.args
			if args == nil {
				args = []string{"plan"}
			}
			r := run(t, dir, env, args...)
			if crashed(r.Output()) || c.fail != (r.Code != 0) {
				t.Fatalf("want failure %v\n%s", c.fail, r)
			}
			if c.want != "" && !strings.Contains(r.Output(), c.want) {
				t.Errorf("want %q in the output\n%s", c.want, r)
			}
			outputs := map[string]string{"output of ansflow " + strings.Join(args, " "): r.Output()}
			if !c.fail && args[0] == "apply" {
				for _, more := range [][]string{{"logs", "exec.a"}, {"logs", "exec.a", "-stderr"}, {"state", "show", "exec.a"}, {"output"}} {
					outputs["ansflow "+strings.Join(more, " ")] = run(t, dir, env, more...).Output()
				}
			}
			_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					data, _ := os.ReadFile(p)
					outputs[p] = string(data)
				}
				return nil
			})
			for where, text := range outputs {
				if strings.HasSuffix(where, "main.hcl") {
					continue
				}
				for _, f := range forms {
					if strings.Contains(text, f) {
						t.Errorf("%s shows %q:\n%s", where, f, clitest.Clip(text))
					}
				}
			}
		})
	}
}
