# Sourced by build.sh and test.sh: Podman as this machine runs it, and the names both use.
# - runc, not crun: crun fails on cgroups in hybrid mode here.
# - a containers.conf with no default ulimits: setting rlimits in a container is refused here.
# An operator's CONTAINERS_CONF and PODMAN_RUNTIME are kept.
IMAGE="${IMAGE:-localhost/webgpu-inference-server:latest}"
BASE_IMAGE="${BASE_IMAGE:-docker.io/library/debian:trixie-slim}"
PODMAN_RUNTIME="${PODMAN_RUNTIME:-runc}"

ensure_podman() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v "$PODMAN_RUNTIME" >/dev/null 2>&1 || missing+=("$PODMAN_RUNTIME")
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "missing: ${missing[*]}; install them (Debian: apt-get install podman runc debootstrap)" >&2
      exit 1
    fi
    echo "installing ${missing[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ -z "${CONTAINERS_CONF:-}" ]; then
    CONTAINERS_CONF="${XDG_RUNTIME_DIR:-/tmp}/webgpu-inference-server-containers.conf"
    printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
    export CONTAINERS_CONF
  fi
}

pod() { podman --runtime "$PODMAN_RUNTIME" "$@"; }
