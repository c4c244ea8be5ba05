#!/usr/bin/env bash
# `npm run image`: builds the server's container image from the Containerfile with Podman.
# Where the Debian base image cannot be pulled (no registry reachable), it is made from Debian's
# packages with debootstrap and tagged with the name the Containerfile starts FROM.
#   scripts/image/build.sh [--gpu] [extra podman build arguments]
# IMAGE names the result (default localhost/webgpu-inference-server:latest, :gpu with --gpu).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=cpu
if [ "${1:-}" = --gpu ]; then
  target=gpu
  shift
  IMAGE="${IMAGE:-localhost/webgpu-inference-server:gpu}"
fi
. scripts/image/common.sh
ensure_podman

if ! pod image exists "$BASE_IMAGE"; then
  if ! timeout 120 podman --runtime "$PODMAN_RUNTIME" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "$BASE_IMAGE cannot be pulled: making it from Debian's packages with debootstrap" >&2
    suite="${BASE_IMAGE##*:}"
    suite="${suite%-slim}"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase "$suite" "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
    # What a slim image leaves out: downloaded packages, package lists, documentation.
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
    tar -C "$root" -c . | pod import - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
    trap - EXIT
  fi
fi

# The CA bundle npm trusts in the build (a network that intercepts TLS has its own CA in it):
# BUILD_CA_BUNDLE, else the one Node is told of here, else the system's. A build secret: no layer keeps it.
ca="${BUILD_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"
secret=()
[ -r "$ca" ] && secret=(--secret "id=ca,src=$ca")
# Docker's image format: the OCI one has no HEALTHCHECK.
pod build --format docker --pull=missing --target "$target" "${secret[@]}" -f Containerfile -t "$IMAGE" "$@" .
echo "built $IMAGE: $(pod image inspect --format '{{.Size}}' "$IMAGE") bytes" >&2
