# Sourced by build.sh and test.sh: where the bundle is made, and the bare Debian root that judges
# both what it must carry and whether it runs.
BUNDLE_BUILD="${BUNDLE_BUILD:-build/bundle}"
BUNDLE_NAME=webgpu-inference-server-linux-x64
# The archive goes through channels that take files of at most this size.
PART_SIZE=40M
# The Debian release whose packages go in: this machine's, so that apt's lists here describe them.
SUITE="${BUNDLE_SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}"
MINBASE="$BUNDLE_BUILD/cache/minbase-$SUITE"

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$1 needs root (debootstrap, chroot and mounts in a private namespace)" >&2
    exit 1
  fi
}

# A bare Debian root: debootstrap's minbase variant, no Node, no Chromium, nothing from npm. It
# stands for "what a bare glibc system has"; made once and kept under the build folder.
ensure_minbase() {
  [ -x "$MINBASE/bin/sh" ] && return 0
  command -v debootstrap >/dev/null 2>&1 || {
    echo "installing debootstrap with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  echo "making a bare Debian $SUITE root with debootstrap --variant=minbase (about 35 s)" >&2
  rm -rf "$MINBASE.tmp"
  mkdir -p "$(dirname "$MINBASE")"
  nice -n 10 debootstrap --variant=minbase "$SUITE" "$MINBASE.tmp" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$MINBASE.log" 2>&1 ||
    { tail -n 20 "$MINBASE.log" >&2; exit 1; }
  rm -rf "$MINBASE.tmp"/var/cache/apt/archives/*.deb
  mv "$MINBASE.tmp" "$MINBASE"
}
