// Command svc is the one program behind the three services of the services
// example: each image runs it with its own SERVICE name.
//
//	svc        serve HTTP on $PORT (what each Deployment runs)
//	svc test   the service's self-check; exit 1 on failure (docker_run.test)
package main

import (
	"fmt"
	"net/http"
	"os"
)

func service() string {
	if s := os.Getenv("SERVICE"); s != "" {
		return s
	}
	return "unnamed"
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "test" {
		if service() == "unnamed" {
			fmt.Fprintln(os.Stderr, "self-check: SERVICE is not set in the image")
			os.Exit(1)
		}
		fmt.Printf("self-check of %s: ok\n", service())
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "%s says hello\n", service()) })
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
