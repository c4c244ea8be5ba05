#!/usr/bin/env bash
# `npm run test:bundle`: proves the bundle self-contained. Its parts, join.sh and busybox are
# copied into a fresh bare Debian root (debootstrap minbase: no Node, no Chromium, no xz, nothing
# from npm), joined and unpacked there with join.sh, and run.sh is started through chroot. Then:
# the kitten classified on WASM, then on WebGPU (SwiftShader, the only adapter here), with the
# adapter read from the model's description; and `run.sh gpu-check`, which must fail with
# "software adapter" and still write its folder. Needs root; builds the bundle first unless
# SKIP_BUILD=1. Everything runs in a new PID and mount namespace: /proc, /dev and /dev/shm are
# mounted for the root there, unmounted on every way out, and no process outlives the test.
# Traffic: 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bundle/common.sh

if [ "${1:-}" != --inside ]; then
  need_root "npm run test:bundle"
  [ -n "${SKIP_BUILD:-}" ] || bash scripts/bundle/build.sh
  ensure_minbase
  root="$BUNDLE_BUILD/test-root"
  rm -rf "$root"
  cp -a "$MINBASE" "$root"
  mkdir -p "$root/root/incoming"
  cp "$BUNDLE_BUILD"/out/* "$root/root/incoming/"
  # --kill-child: if this shell dies, the namespace's first process goes, and every process in it.
  exec timeout 1200 unshare --pid --fork --mount --propagation private --kill-child -- bash "$0" --inside "$root"
fi

root=$(readlink -f "$2")
failures=0
pass() { echo "ok: $*"; }
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}
unmount() {
  for m in dev/shm dev proc; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  return 0
}
trap unmount EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs -o size=1g,mode=1777 tmpfs "$root/dev/shm"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

for tool in node xz zstd chromium chromium-headless-shell; do
  in_root sh -c "command -v $tool" >/dev/null && fail "the bare root has $tool"
done
start=$(date +%s)
in_root sh /root/incoming/join.sh /opt >/dev/null || { fail "join.sh"; exit 1; }
bundle=/opt/webgpu-inference-server-linux-x64
pass "joined and unpacked with join.sh in $(($(date +%s) - start)) s (busybox's xz: the bare root has none)"

port=$((19000 + RANDOM % 900))
inference="http://127.0.0.1:$port"
management="http://127.0.0.1:$((port + 1))"
grpc="127.0.0.1:$((port + 2))"
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap 'stop_server; unmount' EXIT

# Starts run.sh in the root with the backend given, waits for /ping (at most 240 s), classifies the
# kitten (over HTTP and gRPC), checks where mobilenet_v2 runs and how Chromium's sandbox stands.
serve_kitten() {
  local backend=$1 want_backend=$2 log="$BUNDLE_BUILD/test-$1.log"
  local t0
  t0=$(date +%s)
  # chroot itself in the background (not through in_root, a function, which would put a shell
  # between): every program down to node is exec'd, so this pid is the server's.
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root "$bundle/run.sh" --backend "$backend" --inference-address "$inference" \
    --management-address "$management" --metrics-address http://127.0.0.1:0 --grpc-inference-port "${grpc##*:}" --grpc-management-port 0 >"$log" 2>&1 &
  server_pid=$!
  local healthy=""
  for _ in $(seq 1 480); do
    if curl -fsS --max-time 2 "$inference/ping" >/dev/null 2>&1; then
      healthy=1
      break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$healthy" ]; then
    tail -n 20 "$log" >&2
    fail "$backend: /ping never answered ($log)"
    stop_server
    return
  fi
  pass "$backend: healthy $(($(date +%s) - t0)) s after run.sh"
  local answer top
  answer=$(curl -sS --max-time 120 "$inference/predictions/mobilenet_v2" -T tests/fixtures/images/kitten.jpg)
  top=$(printf '%s' "$answer" | node -e '
    const fs = require("fs");
    const answer = JSON.parse(fs.readFileSync(0, "utf8"));
    const labels = fs.readFileSync("models/mobilenet_v2/labels.txt", "utf8").split("\n");
    const expected = JSON.parse(fs.readFileSync("tests/fixtures/images/expected.json", "utf8"))["kitten.jpg"].accept_top1.map((i) => labels[i]);
    const top = answer[0];
    console.log(`${expected.includes(top.class) ? "right" : "wrong"} ${top.class} ${top.probability.toFixed(4)}`);
  ' 2>/dev/null || echo "unreadable $answer")
  case "$top" in
    right*) pass "$backend: the kitten is ${top#right }" ;;
    *) fail "$backend: the kitten answered ${top#* }" ;;
  esac
  local ran
  ran=$(curl -sS --max-time 10 "$management/models/mobilenet_v2" | node -e '
    const d = JSON.parse(require("fs").readFileSync(0, "utf8"))[0];
    console.log(`${d.backend} ${d.adapter ? `${d.adapter.vendor} ${d.adapter.architecture} fallback ${d.adapter.isFallbackAdapter}` : "no adapter"}`);
  ' 2>/dev/null || echo unknown)
  [ "${ran%% *}" = "$want_backend" ] && pass "$backend: mobilenet_v2 runs on $ran" || fail "$backend: mobilenet_v2 runs on $ran"
  local probe
  probe=$(node dist/scripts/image/grpc-probe.js "$grpc" no-key-on-loopback tests/fixtures/images/kitten.jpg 2>&1) || true
  [ "$probe" = "SERVING n02123045 tabby, tabby cat" ] && pass "$backend: gRPC on $grpc: health SERVING, the kitten through Predictions" || fail "$backend: gRPC on $grpc answered: $probe"
  grep -q '"memory allocator: jemalloc"' "$log" && pass "$backend: the gateway runs on the bundle's jemalloc" || fail "$backend: not on jemalloc ($log)"
  # A chroot may make no user namespace, so Chromium's sandbox cannot start here: the server says
  # so once, and still runs Chromium as an unprivileged user, never as root.
  local sandbox warnings
  sandbox=$(curl -sS --max-time 10 "$management/models/mobilenet_v2" | node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].workers[0].sandbox;
    console.log(`${s.enabled} ${s.user} ${s.uid}`);
  ' 2>/dev/null || echo unknown)
  warnings=$(grep -c "sandbox cannot start" "$log" || true)
  case "$sandbox" in
    "false nobody "[1-9]*) [ "$warnings" = 1 ] && pass "$backend: sandbox off in the chroot, said once; Chromium runs as ${sandbox#false }" || fail "$backend: $warnings sandbox warnings ($log)" ;;
    *) fail "$backend: the sandbox is reported as '$sandbox'" ;;
  esac
  stop_server
}

serve_kitten wasm wasm
serve_kitten webgpu webgpu

# The GPU check's failure path: no GPU here, so it must say "software adapter" and still write its folder.
check_dir=/root/gpu-check
start=$(date +%s)
set +e
verdict=$(in_root sh -c "cd /root && timeout 480 $bundle/run.sh gpu-check --out $check_dir 2>/root/gpu-check.log")
code=$?
set -e
echo "gpu-check said, after $(($(date +%s) - start)) s: $verdict"
[ "$code" = 1 ] && pass "gpu-check exits 1" || fail "gpu-check exited $code (log: $root/root/gpu-check.log)"
case "$verdict" in
  "FAILED: software adapter"*) pass "gpu-check names the software adapter" ;;
  *) fail "gpu-check's verdict: $verdict" ;;
esac
for f in result.txt result.json summary.md startup.log chromium-probe-1.log chromium-gpu-info.json; do
  [ -s "$root$check_dir/$f" ] || fail "gpu-check wrote no $f"
done
pass "gpu-check wrote $(ls "$root$check_dir" | wc -l) files in $check_dir"

[ "$failures" = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "the bundle runs in a bare Debian root: every check passed"
