// Package hacktest tests the service scripts of hack/ (hack/testenv/up.sh,
// hack/docker-down.sh) against stand-in processes in a temporary directory:
// it never starts, stops or touches the services the machine really runs.
package hacktest
