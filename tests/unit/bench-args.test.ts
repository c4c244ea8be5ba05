import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from '../../scripts/bench/args.js';

describe('the bench command line', () => {
  it('reads its own flags and hands every other word to the server, in order', () => {
    const a = parseBenchArgs(['--workers', '2', '--runs', '3', '--disable-demo-page', '--only=server,null', '--backend=webgpu', '-v', 'x', '--warmup', '0.5']);
    assert.deepEqual([a.runs, a.warmupS, a.durationS, a.port, [...a.parts]], [3, 0.5, 12, null, ['server', 'null']]);
    assert.deepEqual(a.serverArgs, ['--workers', '2', '--disable-demo-page', '--backend=webgpu', '-v', 'x']);
  });

  it('reads --wasm-threads and passes it on; alone it means one per core', () => {
    assert.equal(parseBenchArgs(['--wasm_threads', '3']).threads, 3);
    assert.deepEqual(parseBenchArgs(['--wasm-threads=5', '--port', '19000']).serverArgs, ['--wasm-threads=5']);
    const bare = parseBenchArgs(['--wasm-threads', '--runs', '2']);
    assert.deepEqual([bare.threads, bare.runs, bare.serverArgs], [parseBenchArgs([]).threads, 2, ['--wasm-threads']]);
  });

  it('refuses its own flags without a good value', () => {
    assert.throws(() => parseBenchArgs(['--runs']), /--runs needs a value/);
    assert.throws(() => parseBenchArgs(['--runs', '--workers', '2']), /--runs needs a value/);
    assert.throws(() => parseBenchArgs(['--duration', '-1']), /--duration needs a positive number; got "-1"/);
    assert.throws(() => parseBenchArgs(['--only', 'gpu']), /--only takes a comma list/);
  });
});
