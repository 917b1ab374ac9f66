// Command app is the example service built by examples/docker: a static
// binary in an image FROM scratch.
//
//	app          print the version and exit
//	app test     run the (tiny) unit tests; exit 1 on failure
package main

import (
	"fmt"
	"os"
)

// version is set at build time through the VERSION environment variable of
// the container (see the Dockerfile).
func version() string {
	if v := os.Getenv("VERSION"); v != "" {
		return v
	}
	return "dev"
}

// greet is the example's "business logic".
func greet(name string) string { return "hello, " + name }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "test" {
		os.Exit(runTests())
	}
	fmt.Printf("example app %s: %s\n", version(), greet("ansflow"))
}

// runTests checks greet and reports like a test runner would.
func runTests() int {
	cases := map[string]string{"ansflow": "hello, ansflow", "": "hello, "}
	failed := 0
	for in, want := range cases {
		if got := greet(in); got != want {
			fmt.Fprintf(os.Stderr, "FAIL greet(%q) = %q, want %q\n", in, got, want)
			failed++
		}
	}
	fmt.Printf("unit tests: %d ok, %d failing\n", len(cases)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
