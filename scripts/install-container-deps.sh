#!/usr/bin/env bash
# install-container-deps.sh — make sure what `make test-containers` needs is installed:
# podman (with buildah's build engine), runc, netavark and aardvark-dns, catatonit,
# podman-compose and debootstrap.
#
#   scripts/install-container-deps.sh
#
# runc, not Debian's default crun: crun 1.8 refuses the hybrid cgroup v1/v2 layout some
# VMs have ("cgroups in hybrid mode not supported"); deploy/container_test.go selects runc
# through its own containers.conf. debootstrap makes the local stand-in base images the
# test builds when no container registry is reachable.
#
# Idempotent: installs only what is missing. As root on Debian/Ubuntu it uses apt-get (with
# retries); otherwise it prints what to install and exits 0 — the container test then
# skips with that message locally and fails under `make test-containers`.
set -euo pipefail

log() { echo "install-container-deps: $*" >&2; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

missing_packages() {
  command -v podman >/dev/null 2>&1 || echo podman
  command -v runc >/dev/null 2>&1 || echo runc
  # container networks (netavark) with name resolution between services (aardvark-dns),
  # which apt leaves out with --no-install-recommends
  [[ -x /usr/lib/podman/netavark ]] || echo netavark
  [[ -x /usr/lib/podman/aardvark-dns ]] || echo aardvark-dns
  # netavark's firewall rules: without iptables a build step that needs the network fails
  # with "netavark: No such file or directory"
  command -v iptables >/dev/null 2>&1 || [[ -x /usr/sbin/iptables ]] || echo iptables
  # the init of the pause image `podman play kube` builds locally for its pods
  command -v catatonit >/dev/null 2>&1 || [[ -x /usr/libexec/podman/catatonit ]] || echo catatonit
  command -v podman-compose >/dev/null 2>&1 || echo podman-compose
  command -v debootstrap >/dev/null 2>&1 || [[ -x /usr/sbin/debootstrap ]] || echo debootstrap
}

install_missing "podman, runc, netavark, aardvark-dns, iptables, catatonit, podman-compose and debootstrap are installed" \
  "until then the container test skips locally and fails under make test-containers" "installed"
