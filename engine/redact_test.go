package engine

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever way a step's output is cut into reads, no secret reaches the
// log: not one split across two reads, not one straddling the 64 KiB a
// line without newline is passed on at, not the lines of a multi-line
// secret printed one by one.
func TestRedactionAcrossReadsAndLines(t *testing.T) {
	const secret = "CANARY-7f3a9c"
	pem := "-----BEGIN TEST KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\nq7BFUXKp1o0lA1yz3p8xCANARYpem\n-----END TEST KEY-----"
	filler := strings.Repeat("x", 64<<10+100)
	const boundary = 64 << 10
	type input struct {
		name   string
		text   string
		hidden []string
	}
	var inputs []input
	for _, off := range []int{-len(secret), -len(secret) + 1, -5, -1, 0, 1, 5} {
		inputs = append(inputs, input{name: "secret at the 64 KiB boundary " + strconv.Itoa(off), text: filler[:boundary+off] + secret + "tail\n", hidden: []string{secret}})
	}
	inputs = append(inputs,
		input{name: "PEM printed line by line", text: "key:\n" + pem + "\ndone\n", hidden: strings.Split(pem, "\n")[1:3]},
		input{name: "PEM lines with CRLF", text: strings.ReplaceAll(pem, "\n", "\r\n") + "\r\n", hidden: strings.Split(pem, "\n")[1:3]},
		input{name: "two secrets back to back", text: secret + secret + "\n", hidden: []string{secret}},
	)
	for _, in := range inputs {
		// Every read size, from one byte to the whole at once.
		for _, chunk := range []int{1, 2, 3, 7, 4096, 65535, 65536, 65537, len(in.text)} {
			red := &redactor{}
			red.add(secret, pem)
			var got strings.Builder
			w := &lineWriter{cut: red.safeCut, emit: func(line string) { got.WriteString(red.redact(line)) }}
			for i := 0; i < len(in.text); i += chunk {
				w.Write([]byte(in.text[i:min(i+chunk, len(in.text))]))
			}
			w.Close()
			for _, h := range in.hidden {
				if strings.Contains(got.String(), h) {
					t.Errorf("%s, read %d bytes at a time: %q reached the log", in.name, chunk, h)
				}
			}
			if !strings.Contains(got.String(), "(sensitive value)") {
				t.Errorf("%s, read %d bytes at a time: nothing was redacted", in.name, chunk)
			}
		}
	}
}

// Log file names are injective and bounded, whatever the address.
func TestLogFileNameInjectiveAndBounded(t *testing.T) {
	long := strings.Repeat("k", 300)
	addrs := []string{
		`exec.a["x/y"]`, `exec.a["x%2Fy"]`, `exec.a["x%252Fy"]`, `exec.a["x\\y"]`, `exec.a["x\u0000y"]`, `exec.a["x"]`,
		`exec.a["..`, `exec.a[".."]`, "exec." + long, "exec." + long + "x", `exec.a["` + long + `"]`, `exec.a["` + long + `y"]`,
		`exec.a["` + strings.Repeat("é", 200) + `"]`, `exec.a["` + strings.Repeat("/", 200) + `"]`, `exec.a["` + strings.Repeat("%", 200) + `"]`,
	}
	seen := map[string]string{}
	for _, a := range addrs {
		name := LogFileName(a, "stdout")
		if other, ok := seen[name]; ok {
			t.Errorf("%q and %q share the log file %q", a, other, name)
		}
		seen[name] = a
		if len(name) > 200 || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") || !utf8.ValidString(name) {
			t.Errorf("LogFileName(%q) = %q: want at most 200 bytes of valid UTF-8, no slash, NUL or leading dot", a, name)
		}
	}
}
