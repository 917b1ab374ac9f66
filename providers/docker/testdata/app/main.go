// Command app is the program inside the integration tests' images. It is
// compiled statically and copied into an image FROM scratch.
//
//	app run CODE   print to stdout and stderr (15 numbered lines), exit CODE
//	app sleep SECS sleep, then exit 0
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: app run CODE | app sleep SECS")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		fmt.Println("hello stdout")
		fmt.Printf("GREETING=%s\n", os.Getenv("GREETING"))
		for i := 1; i <= 15; i++ {
			fmt.Fprintf(os.Stderr, "err-%d\n", i)
		}
		os.Exit(n)
	case "sleep":
		time.Sleep(time.Duration(n) * time.Second)
	}
}
