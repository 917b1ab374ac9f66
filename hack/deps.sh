#!/usr/bin/env bash
# deps.sh installs the system packages the integration tests need, when they
# are missing: Docker Engine (docker.io), Debian's registry (docker-registry),
# openssl and curl (test control plane), busybox-static (a shell for test
# images built FROM scratch), openssh-client (ssh-agent), and Chromium (the
# dashboard's browser tests). Needs root for apt-get.
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v git >/dev/null 2>&1 || need+=(git)
[[ -x /bin/busybox ]] || need+=(busybox-static) # a shell for FROM scratch test images
command -v ssh-agent >/dev/null 2>&1 || need+=(openssh-client) # docker_build ssh forwarding test
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]} == 0)); then
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "deps: missing ${need[*]}; install them (as root: apt-get install -y ${need[*]})" >&2
	exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
