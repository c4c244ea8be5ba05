#!/usr/bin/env bash
# The CPU each test file costs the machine: runs the files given (built, under dist/), one at a
# time, and prints each one's wall time and the CPU-seconds all cores spent meanwhile (from
# /proc/stat, so Chromium's processes count too). Run it alone on the machine: anything else
# running is counted. After `npm run build`:
#   bash scripts/test/cpu-per-file.sh dist/tests/integration/*.test.js
set -uo pipefail
cd "$(dirname "$0")/../.."

busy() { head -1 /proc/stat | awk '{ print $2 + $3 + $4 + $7 + $8 }'; }
ticks=$(getconf CLK_TCK)
total=0
for file in "$@"; do
  before=$(busy)
  start=$(date +%s.%N)
  node --test "$file" >/dev/null 2>&1
  status=$?
  end=$(date +%s.%N)
  cpu=$(awk -v a="$before" -v b="$(busy)" -v t="$ticks" 'BEGIN { print (b - a) / t }')
  total=$(awk -v a="$total" -v b="$cpu" 'BEGIN { print a + b }')
  printf '%-44s exit %s  wall %6.1f s  cpu %6.1f s\n' "$(basename "$file")" "$status" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$cpu"
done
printf '%-44s %28s cpu %6.1f s\n' 'all' '' "$total"
