// Package docker implements the docker_build, docker_run, docker_push and
// docker_pull step types on the Docker Engine API (github.com/moby/moby/client).
//
// One engine client is kept per distinct connection (the pipeline's docker { }
// block, else DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, else the
// standard socket), created on first use, with API version negotiation. The
// steps use the engine through dockerAPI, a small interface holding only the
// calls they make; tests run against a real engine (see hack/docker-up.sh).
//
// Registry credentials come from a registry { } block, else from the auths
// section of ~/.docker/config.json ("auth" or username/password). Credential
// helpers (credsStore, credHelpers) are not supported.
package docker
