#!/usr/bin/env bash
# `npm run test:image`: builds the image, runs it with its ports published on 127.0.0.1 only, and
# checks it as an operator would meet it: healthy, token authorization on with the key readable
# from the container, the kitten classified (over HTTP and gRPC), no process running as root,
# Chromium's sandbox on (every renderer under its seccomp filter) with Podman's defaults, the HEALTHCHECK passing,
# and a clean exit within the grace period on SIGTERM. Prints the image's size and the time from
# `run` to a healthy /ping. SKIP_BUILD=1 tests the image already built.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/image/common.sh
ensure_podman
[ -n "${SKIP_BUILD:-}" ] || bash scripts/image/build.sh
name="webgpu-inference-server-test-$$"
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }
cleanup() { pod rm -f -t 0 "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

started=$(date +%s.%N)
# No systemd here to time the HEALTHCHECK: the test runs it itself.
pod run -d --name "$name" --health-interval disable -p 127.0.0.1::8080 -p 127.0.0.1::8081 -p 127.0.0.1::8082 -p 127.0.0.1::7070 "$IMAGE" >/dev/null
port_of() { pod port "$name" "$1/tcp" | head -n1; }
inference=$(port_of 8080)
management=$(port_of 8081)
case "$inference$management" in
  127.0.0.1:*127.0.0.1:*) pass "ports published on 127.0.0.1 only ($inference, $management)" ;;
  *) fail "ports published as $inference, $management" ;;
esac

healthy=""
for _ in $(seq 1 240); do
  if curl -fsS "http://$inference/ping" >/dev/null 2>&1; then
    healthy=$(date +%s.%N)
    break
  fi
  [ "$(pod inspect --format '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.5
done
if [ -z "$healthy" ]; then
  pod logs "$name" 2>&1 | tail -n 30 >&2
  fail "/ping never answered"
  exit 1
fi
start_s=$(awk -v a="$started" -v b="$healthy" 'BEGIN { printf "%.1f", b - a }')
pass "healthy ${start_s} s after run"

if pod healthcheck run "$name" >/dev/null 2>&1; then pass "HEALTHCHECK passes"; else fail "HEALTHCHECK fails"; fi

key_file=/var/lib/webgpu-inference-server/key_file.json
key=$(pod exec "$name" cat "$key_file" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).inference.key))')
[ -n "$key" ] && pass "inference key read from $key_file" || fail "no inference key in $key_file"

kitten=tests/fixtures/images/kitten.jpg
status=$(curl -s -o /dev/null -w '%{http_code}' "http://$inference/predictions/mobilenet_v2" -T "$kitten")
[ "$status" = 401 ] && pass "a prediction without the key answers 401" || fail "a prediction without the key answered $status"
answer=$(curl -fsS "http://$inference/predictions/mobilenet_v2" -H "Authorization: Bearer $key" -T "$kitten")
top=$(printf '%s' "$answer" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].class))')
[ "$top" = "n02123045 tabby, tabby cat" ] && pass "the kitten is a '$top'" || fail "the kitten answered $answer"
grpc=$(port_of 7070)
probe=$(node dist/scripts/image/grpc-probe.js "$grpc" "$key" "$kitten" 2>&1) || true
[ "$probe" = "SERVING n02123045 tabby, tabby cat" ] && pass "gRPC on $grpc: health SERVING, the kitten through Predictions" || fail "gRPC on $grpc answered: $probe"

uid=$(pod exec "$name" id -u)
[ "$uid" != 0 ] && pass "exec runs as uid $uid" || fail "exec runs as root"
# Every process in the container, node's and Chromium's among them, read from its /proc.
procs=$(pod exec "$name" sh -c 'for p in /proc/[0-9]*; do [ -r "$p/status" ] && printf "%s %s\n" "$(awk "/^Uid:/ { print \$2 }" "$p/status")" "$(cat "$p/comm")"; done' 2>/dev/null)
node_uid=$(printf '%s\n' "$procs" | awk '$2 == "node" { print $1; exit }')
[ -n "$node_uid" ] && [ "$node_uid" != 0 ] && pass "node runs as uid $node_uid" || fail "node's uid is '${node_uid}'"
root_procs=$(printf '%s\n' "$procs" | awk '$1 == 0' | wc -l)
[ "$root_procs" = 0 ] && pass "no process runs as root ($(printf '%s\n' "$procs" | wc -l) processes)" || fail "$root_procs processes run as root"
# Chromium's renderers: each under Chromium's seccomp filter (Seccomp: 2), as the server reports.
renderers=$(pod exec "$name" sh -c 'for p in /proc/[0-9]*; do tr "\0" " " < "$p/cmdline" 2>/dev/null | grep -q -- "--type=renderer" && awk "/^Seccomp:/ { print \$2 }" "$p/status"; done; true' 2>/dev/null)
filtered=$(printf '%s\n' "$renderers" | grep -cx 2 || true)
total=$(printf '%s\n' "$renderers" | grep -c . || true)
[ "$total" -gt 0 ] && [ "$filtered" = "$total" ] && pass "Chromium's sandbox: $total renderer(s), every one under seccomp-bpf" || fail "Chromium's sandbox: $filtered of $total renderer(s) under seccomp-bpf"
mkey=$(pod exec "$name" cat "$key_file" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).management.key))')
sandbox=$(curl -fsS "http://$management/models/mobilenet_v2" -H "Authorization: Bearer $mkey" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const w=JSON.parse(s)[0].workers[0].sandbox;console.log(`${w.enabled} ${w.seccomp}`)})')
[ "$sandbox" = "true 2" ] && pass "GET /models/mobilenet_v2 reports the sandbox on" || fail "GET /models/mobilenet_v2 reports the sandbox as '$sandbox'"
pod logs "$name" 2>&1 | grep -q 'sandbox cannot start' && fail "the server logged that the sandbox cannot start" || pass "no sandbox warning in the log"
pod exec "$name" cat /proc/1/comm | grep -qx tini && pass "PID 1 is tini" || fail "PID 1 is not tini"

stop_started=$(date +%s)
pod stop -t 30 "$name" >/dev/null
stop_s=$(( $(date +%s) - stop_started ))
code=$(pod inspect --format '{{.State.ExitCode}}' "$name")
if [ "$stop_s" -lt 30 ] && { [ "$code" = 0 ] || [ "$code" = 143 ]; }; then
  pass "SIGTERM: exit code $code after ${stop_s} s"
else
  fail "SIGTERM: exit code $code after ${stop_s} s (grace period 30 s)"
fi
pod logs "$name" 2>&1 | grep -q 'SIGTERM: shutting down' && pass "the server logged its shutdown" || fail "no shutdown in the logs"

echo "image $IMAGE: $(pod image inspect --format '{{.Size}}' "$IMAGE") bytes; healthy ${start_s} s after run"
[ "$failures" = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
