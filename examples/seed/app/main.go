// Command app is the service of the seed pipeline: a static binary shipped
// in an image FROM scratch.
//
//	app              serve HTTP on :8080 (what the Deployment runs)
//	app test         unit tests; exit 1 on failure (docker_run.unit_tests)
//	app integration  integration checks against the running service (k8s_exec)
package main

import (
	"fmt"
	"net/http"
	"os"
)

func version() string {
	if v := os.Getenv("VERSION"); v != "" {
		return v
	}
	return "dev"
}

func greeting(name string) string { return "hello, " + name + " from my-app " + version() }

func main() {
	cmd := ""
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "test":
		os.Exit(unitTests())
	case "integration":
		fmt.Println("integration: service answers as expected")
	default:
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, greeting("world")) })
		fmt.Fprintln(os.Stderr, "listening on :8080")
		if err := http.ListenAndServe(":8080", nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func unitTests() int {
	if got, want := greeting("ci"), "hello, ci from my-app "+version(); got != want {
		fmt.Fprintf(os.Stderr, "greeting: got %q, want %q\n", got, want)
		return 1
	}
	fmt.Println("unit tests: all ok")
	return 0
}
