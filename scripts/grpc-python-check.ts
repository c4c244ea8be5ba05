// `npm run check:grpc-python`: a stock client from another gRPC implementation against the real
// server. Starts the server (WASM, token authorization on), generates Python stubs from protos/
// with Debian's protoc (scripts/grpc-python/stubs.sh), runs scripts/grpc-python/client.py, which
// calls the server as TorchServe's and Triton's Python clients do, and checks what it got against
// the HTTP API's answers. Needs: apt-get install python3-grpcio protobuf-compiler protobuf-compiler-grpc

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../server/ops/paths.js';
import { bytesOf, kittenTensor, v2Output } from '../tests/support/kitten-tensor.js';
import { startTestServer } from '../tests/support/server-harness.js';

const here = path.join(PROJECT_ROOT, 'scripts/grpc-python');
const image = path.join(PROJECT_ROOT, 'tests/fixtures/images/kitten.jpg');
const work = mkdtempSync(path.join(os.tmpdir(), 'grpc-python-'));
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], cwd: PROJECT_ROOT });
// The server runs in this process: the client must run beside it, never block its event loop.
const runBeside = async (cmd: string, args: string[]) => {
  // A bound on a hang, not on speed: the client's calls answer long before it on a busy machine too.
  const { stdout, stderr } = await promisify(execFile)(cmd, args, { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 480_000 });
  process.stderr.write(stderr);
  return stdout;
};

// The real server on free loopback ports, as the tests start it.
const server = await startTestServer({
  backend: 'wasm',
  wasm_threads: '1',
  load_models: 'mobilenet_v2',
  enable_token_authorization: 'true',
  key_file: path.join(work, 'key_file.json'),
});
try {
  run('bash', [path.join(here, 'stubs.sh'), path.join(work, 'stubs')]);
  const model = server.store.resolve('mobilenet_v2');
  const tensor = await kittenTensor();
  const tensorFile = path.join(work, 'kitten.f32');
  writeFileSync(tensorFile, bytesOf(tensor));
  const keys = server.keys!;
  const out = JSON.parse(
    await runBeside('/usr/bin/python3', [path.join(here, 'client.py'), path.join(work, 'stubs'), server.grpc!.inference, server.grpc!.management, keys.inference, keys.management, image, tensorFile]),
  );

  const auth = { authorization: `Bearer ${keys.inference}` };
  const http = await (await fetch(`${server.inferenceUrl}/predictions/${model.name}`, { method: 'POST', body: readFileSync(image), headers: auth })).json();
  const reference = await v2Output(server.inferenceUrl, model.name, tensor, keys.inference);

  const checks: Array<[string, () => void]> = [
    ['Ping and grpc.health.v1 Check', () => assert.deepEqual([out.ping, out.health], [{ status: 'Healthy' }, 'SERVING'])],
    [
      'Predictions answers what POST /predictions answers',
      () =>
        assert.deepEqual(
          out.predictions.map((c: { class: string }) => c.class),
          http.map((c: { class: string }) => c.class),
        ),
    ],
    [
      'StreamPredictions2 answers each in order',
      () =>
        assert.deepEqual(
          out.stream2.map((a: { sequenceId: string }) => a.sequenceId),
          ['s0', 's1', 's2'],
        ),
    ],
    ['a call without the key is UNAUTHENTICATED', () => assert.equal(out.no_key, 'UNAUTHENTICATED')],
    [
      'ModelInfer with raw_input_contents matches /v2 infer',
      () => {
        assert.deepEqual(out.model_infer.shape, [1, 1000]);
        const most = Math.max(...reference.map((x, i) => Math.abs(x - out.model_infer.output[i])));
        assert.ok(most < 1e-4, `largest difference ${most}`);
      },
    ],
    ['ModelMetadata and ServerReady', () => assert.deepEqual([out.server_ready, out.model_metadata.inputs[0].shape], [true, [-1, 3, 224, 224]])],
    [
      'ListModels, DescribeModel, and NOT_FOUND for an unknown model',
      () => assert.deepEqual([out.list_models.models[0].modelName, out.describe, out.describe_unknown], ['mobilenet_v2', 'READY', 'NOT_FOUND']),
    ],
  ];
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      check();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${(e as Error).message}`);
    }
  }
  console.log(`python3 grpcio ${run('/usr/bin/python3', ['-c', 'import grpc; print(grpc.__version__)']).trim()}: ${checks.length - failed} of ${checks.length} checks passed`);
  process.exitCode = failed ? 1 : 0;
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
