// Command docker-credential-test is a docker credential helper for tests:
// "get" answers with user ci and the password in $ANSFLOW_TEST_CRED_SECRET
// for every server; other actions are refused.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "get" {
		fmt.Fprintln(os.Stderr, "docker-credential-test: only get is supported")
		os.Exit(1)
	}
	in, _ := io.ReadAll(os.Stdin)
	json.NewEncoder(os.Stdout).Encode(map[string]string{
		"ServerURL": strings.TrimSpace(string(in)),
		"Username":  "ci",
		"Secret":    os.Getenv("ANSFLOW_TEST_CRED_SECRET"),
	})
}
