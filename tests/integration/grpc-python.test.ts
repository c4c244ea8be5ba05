// A stock client from another gRPC implementation (Python's grpcio, C core, with stubs protoc
// generates from protos/) calls the real server as TorchServe's and Triton's Python clients do:
// scripts/grpc-python-check.ts, whose every check must pass.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../server/ops/paths.js';

it("Python's grpcio, with stubs generated from protos/, gets the answers the HTTP APIs give", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'dist/scripts/grpc-python-check.js')], {
    cwd: PROJECT_ROOT,
    // A bound on a hang, not on speed: the check starts a server and a Python client.
    timeout: 600_000,
    maxBuffer: 64 * 2 ** 20,
  }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(
      `the check failed: ${e.message}\n${(e.stdout ?? '')
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n')}`,
    );
  });
  const checks = stdout.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
  assert.ok(checks.length >= 7, stdout.slice(-2000));
  assert.deepEqual(
    checks.filter((l) => l.startsWith('FAIL')),
    [],
  );
  assert.match(stdout, /: (\d+) of \1 checks passed/);
});
