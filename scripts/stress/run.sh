#!/usr/bin/env bash
# `npm run test:stress`: the unit suite five times, then the integration and Playwright suites
# twice, in a row, each run as `npm test` runs it (unit files two at a time; integration files
# three at a time beside Playwright, scripts/test/real-suites.sh), with two CPU hogs beside it, as
# on a busy shared machine. No test may pass or fail by how fast the machine is, so this must pass whole. Stops at
# the first failing run and names it.
#
# The hogs are this script's own children, started for each run and stopped when it ends; the trap
# stops them however the script ends, and each stops by itself after HOG_LIMIT_S in any case.
# Run from `npm run test:stress`, which builds first (as `npm test` does).
set -euo pipefail
cd "$(dirname "$0")/../.."

UNIT_RUNS=5
INTEGRATION_RUNS=2
HOGS=2
HOG_LIMIT_S="${STRESS_HOG_LIMIT_S:-3600}"

hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null || true; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_hogs() {
  for _ in $(seq "$HOGS"); do
    # A busy loop that ends by itself past the limit, should this script be killed outright.
    node -e "const end = Date.now() + $HOG_LIMIT_S * 1000; while (Date.now() < end);" &
    hogs+=("$!")
  done
}

started=$SECONDS
passed=()
run() {
  local name=$1
  shift
  echo "test:stress: $name, beside $HOGS CPU hogs"
  local t0=$SECONDS
  start_hogs
  local status=0
  "$@" || status=$?
  stop_hogs
  if [ "$status" -ne 0 ]; then
    echo "test:stress: FAILED in $name (exit $status) after $((SECONDS - started)) s; passed before it: ${passed[*]:-none}"
    exit 1
  fi
  echo "test:stress: $name passed in $((SECONDS - t0)) s"
  passed+=("$name;")
}

for i in $(seq "$UNIT_RUNS"); do
  run "unit run $i of $UNIT_RUNS" bash scripts/test/unit-suite.sh
done
for i in $(seq "$INTEGRATION_RUNS"); do
  run "integration and Playwright run $i of $INTEGRATION_RUNS" bash scripts/test/real-suites.sh
done
echo "test:stress: passed: the unit suite $UNIT_RUNS times and the integration and Playwright suites $INTEGRATION_RUNS times, each beside $HOGS CPU hogs, in $((SECONDS - started)) s"
