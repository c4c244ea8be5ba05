#!/bin/sh
# Starts the server from wherever the bundle was unpacked, with the bundle's Node, Chromium and
# libraries and its model store (app/models), touching nothing outside this folder but /tmp.
#   ./run.sh [server flags]           the server; ./run.sh --help lists the flags
#   ./run.sh gpu-check [--out DIR]    the GPU check: see docs/deployment.md, "The GPU check"
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)

# The binaries were built against a glibc; an older one fails with a loader error that names a
# symbol version. Said plainly instead.
need=$(cat "$here/GLIBC")
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed 's/^glibc //') || have=""
if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
  echo "this host's glibc is $have; the bundle needs $need or newer" >&2
  exit 1
fi

PATH="$here/node/bin:$PATH"
CHROME_PATH="${CHROME_PATH:-$here/bin/chromium}"
TS_MODEL_STORE="${TS_MODEL_STORE:-$here/app/models}"
export PATH CHROME_PATH TS_MODEL_STORE
# The gateway's allocator, as bin/webgpu-inference-server would take it from the system: the
# bundle's own jemalloc (WEBGPU_INFERENCE_SERVER_MALLOC=system keeps glibc's). The server starts
# Chromium without it.
if [ "${WEBGPU_INFERENCE_SERVER_MALLOC:-jemalloc}" = jemalloc ]; then
  LD_PRELOAD="$here/lib/libjemalloc.so.2${LD_PRELOAD:+:$LD_PRELOAD}"
  MALLOC_CONF="${MALLOC_CONF:-background_thread:true}"
  export LD_PRELOAD MALLOC_CONF
fi

if [ "${1:-}" = gpu-check ]; then
  shift
  exec node "$here/app/dist/scripts/bundle/gpu-check/main.js" "$@"
fi
exec "$here/app/bin/webgpu-inference-server" "$@"
