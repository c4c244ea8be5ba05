import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { machineLimits, readMachine } from '../../server/config/limits.js';

const GiB = 1024 ** 3;

describe('machine limits', () => {
  it('this 2-core, 24 GiB machine with 20,000 open files', () => {
    const l = machineLimits({ cores: 2, memoryBytes: 24 * GiB, openFiles: 20_000, threadPoolSize: 4 });
    assert.equal(l.maxWorkers, 8, 'four pages a core');
    assert.equal(l.inflightBytes, 512 * 1024 ** 2);
    assert.equal(l.maxConnections, Math.floor(0.8 * (20_000 - 1024)));
    assert.ok(l.maxConnections + 2 * l.smallListenerConnections < 20_000, 'below the descriptor limit');
    assert.equal(l.decodeSlots, 2);
  });

  it('a small container: memory bounds the pages and the bytes; descriptors bound the connections', () => {
    const l = machineLimits({ cores: 16, memoryBytes: 1 * GiB, openFiles: 1024, threadPoolSize: 4 });
    assert.equal(l.maxWorkers, 2);
    assert.equal(l.inflightBytes, 64 * 1024 ** 2);
    assert.equal(l.maxConnections, 64);
    assert.equal(l.decodeSlots, 2, 'two of libuv threads stay free for files');
  });

  it('a large host is capped, whatever its limits say', () => {
    const l = machineLimits({ cores: 128, memoryBytes: 1024 * GiB, openFiles: 1 << 20, threadPoolSize: 130 });
    assert.equal(l.maxConnections, 65_536);
    assert.equal(l.inflightBytes, 512 * 1024 ** 2);
    assert.equal(l.maxWorkers, 512);
    assert.equal(l.decodeSlots, 128);
  });

  it('reads this machine', () => {
    const m = readMachine();
    assert.ok(m.cores >= 1 && m.memoryBytes > 0 && m.openFiles > 0 && m.threadPoolSize >= 1);
  });
});
