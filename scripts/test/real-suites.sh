#!/usr/bin/env bash
# The suites with the real server, side by side: the integration files, three at a time, and the
# Playwright tests. Alone, each leaves the machine's cores idle at times (a test waiting on a
# server's timer, Playwright's one worker waiting on a page); together they fill each other's
# gaps (docs/testing.md has the figures). The integration output streams; Playwright's is kept
# in a temporary file and shown when both are done, so that neither report is cut into the other.
# Fails if either fails.
# Run from `npm test`, after the build.
set -uo pipefail
cd "$(dirname "$0")/../.."

# Not under test-results/: Playwright empties that folder as it starts.
e2e_log=$(mktemp)
failures=$(mktemp)
node_modules/.bin/playwright test >"$e2e_log" 2>&1 &
e2e=$!
# Playwright is this script's child: it goes with the script however the script ends.
trap 'kill "$e2e" 2>/dev/null; rm -f "$e2e_log" "$failures"' EXIT

# The failed integration tests are named again at the very end (scripts/test/failures-reporter.ts):
# a CI log often keeps only its last lines, and the TAP stream names a failure long before.
node --test --test-concurrency=3 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./dist/scripts/test/failures-reporter.js --test-reporter-destination="$failures" \
  dist/tests/integration/
integration=$?

wait "$e2e"
e2e_status=$?
echo
echo "Playwright (tests/e2e), run beside the integration suite:"
cat "$e2e_log"
if [ -s "$failures" ]; then
  echo
  echo "The integration suite:"
  cat "$failures"
fi

if [ "$integration" -ne 0 ] || [ "$e2e_status" -ne 0 ]; then
  echo "failed:$([ "$integration" -ne 0 ] && echo " the integration suite (exit $integration)")$([ "$e2e_status" -ne 0 ] && echo " Playwright (exit $e2e_status)")" >&2
  exit 1
fi
