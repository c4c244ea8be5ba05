#!/usr/bin/env bash
# Makes sure the system has what the server uses beside Node:
#  - a Chromium to drive: CHROME_PATH, else the system's, else Debian's chromium-headless-shell
#    package (the headless browser alone: lighter and faster to start than the desktop
#    chromium) where this user may install it. Never downloads a browser build of its own.
#  - jemalloc, which bin/webgpu-inference-server preloads: with glibc's allocator, memory freed
#    after a flood of large requests stays with the process (measured: 1.2 GB held after a
#    flood, 115 MB with jemalloc). Optional: without it the server runs, and says so at start.
#  - an unprivileged system user, webgpu-inference, that a server running as root starts Chromium
#    as: Chromium refuses its sandbox to root (server/chromium/chromium-sandbox.ts). It joins the
#    groups that hold GPU device files (render, video) where they exist.
#  - the openssl command, which the tests use to make a self-signed certificate for the https://
#    listeners (and an operator may use to make one). Debian's slim images leave it out.
#    Optional for the server itself.
set -euo pipefail

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
updated=""
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$updated" ] || { apt-get update -qq; updated=1; }
  apt-get install -y -qq "$@" >/dev/null
}

if ! ls /usr/lib/*/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 >/dev/null 2>&1 && can_install; then
  echo "jemalloc not found: installing the distribution's libjemalloc2 package with apt-get" >&2
  apt_install libjemalloc2 || echo "libjemalloc2 could not be installed; the server will use glibc's allocator" >&2
fi

if ! command -v openssl >/dev/null 2>&1 && can_install; then
  echo "openssl not found: installing the distribution's openssl package with apt-get" >&2
  apt_install openssl || echo "openssl could not be installed; the HTTPS tests cannot make their certificate" >&2
fi

chromium_user=webgpu-inference
if [ "$(id -u)" = 0 ] && ! getent passwd "$chromium_user" >/dev/null 2>&1 && command -v useradd >/dev/null 2>&1; then
  echo "creating the system user $chromium_user, which Chromium runs as when the server runs as root" >&2
  groups=$(for g in render video; do getent group "$g" >/dev/null 2>&1 && printf '%s,' "$g"; done)
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${groups:+--groups "${groups%,}"} "$chromium_user" ||
    echo "the user $chromium_user could not be created; Chromium will run as nobody" >&2
fi

if [ -n "${CHROME_PATH:-}" ]; then
  [ -x "$CHROME_PATH" ] && exit 0
  echo "CHROME_PATH=$CHROME_PATH is not an executable file: point CHROME_PATH at a Chromium or Chrome executable" >&2
  exit 1
fi
# The same list, in the same order, as server/chromium/find-chromium.ts.
headless_shell=/usr/lib/chromium/chromium-headless-shell
for candidate in "$headless_shell" /usr/bin/chromium-headless-shell /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome-stable /usr/bin/google-chrome; do
  [ -x "$candidate" ] && exit 0
done
if can_install; then
  echo "Chromium not found: installing the distribution's chromium-headless-shell package with apt-get" >&2
  apt_install chromium-headless-shell
  [ -x "$headless_shell" ] && exit 0
fi
echo "Chromium not found: install it (Debian/Ubuntu: apt-get install chromium-headless-shell, or chromium) or set CHROME_PATH to a Chromium or Chrome executable" >&2
exit 1
