#!/usr/bin/env bash
# The unit suite, two files at a time, as TAP; the failed tests are named again once it ends
# (scripts/test/failures-reporter.ts), so that a log's last lines say what failed.
# Run from `npm test` and `npm run test:stress`, after the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --test --test-concurrency=2 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./dist/scripts/test/failures-reporter.js --test-reporter-destination=stderr \
  dist/tests/unit/
