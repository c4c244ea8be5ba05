// The pure parts of the gRPC listeners' guards: gRPC's message framing followed across chunks,
// the budgets of stream resets and control frames per connection (a clock injected), and connections per address.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientConnections } from '../../server/grpc/client-connections.js';
import { MessageFraming } from '../../server/grpc/message-framing.js';
import { RateBudget, RESETS_PER_SECOND } from '../../server/grpc/rate-budget.js';

const message = (length: number, fill = 1) => {
  const m = Buffer.alloc(5 + length, fill);
  m[0] = 0;
  m.writeUInt32BE(length, 1);
  return m;
};

describe('MessageFraming', () => {
  it('holds the bytes of a message under way, prefix included, and nothing once it is whole', () => {
    const f = new MessageFraming();
    const m = message(1000);
    assert.equal(f.feed(m.subarray(0, 3)), 3, 'part of the prefix');
    assert.equal(f.feed(m.subarray(3, 600)), 600);
    assert.equal(f.feed(m.subarray(600)), 0, 'whole');
    assert.equal(f.held, 0);
  });

  it('follows several messages in one chunk, a message split at any byte, and empty messages', () => {
    const stream = Buffer.concat([message(10), message(0), message(70000), message(3)]);
    for (const cut of [1, 4, 5, 6, 15, 20, 21, 22, 100, 70000, stream.length - 1]) {
      const f = new MessageFraming();
      const first = f.feed(stream.subarray(0, cut));
      const rest = f.feed(stream.subarray(cut));
      assert.equal(rest, 0, `cut at ${cut}: every message whole at the end`);
      assert.ok(first >= 0 && first <= 70005, `cut at ${cut}: at most one message held (${first})`);
    }
    const f = new MessageFraming();
    assert.equal(f.feed(Buffer.concat([message(10), message(0), message(70000).subarray(0, 50)])), 50, 'what follows the whole messages');
  });

  it('counts a declared length it has not seen the end of, however large', () => {
    const f = new MessageFraming();
    const prefix = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
    assert.equal(f.feed(prefix), 5);
    assert.equal(f.feed(Buffer.alloc(65536)), 65541);
  });
});

describe('RateBudget', () => {
  it('allows a burst, then refills at its rate, never above the burst', () => {
    let now = 0;
    const budget = new RateBudget(10, RESETS_PER_SECOND, () => now);
    for (let i = 0; i < 10; i++) assert.ok(budget.take(), `reset ${i + 1} of the burst`);
    assert.equal(budget.take(), false, 'one past the burst');
    now += 60_000;
    for (let i = 0; i < 10; i++) assert.ok(budget.take(), 'refilled to the burst after a long quiet');
    assert.equal(budget.take(), false, 'and no further');
  });

  it('lets a client that resets slower than the refill go on for ever', () => {
    let now = 0;
    const budget = new RateBudget(5, RESETS_PER_SECOND, () => now);
    for (let i = 0; i < 10_000; i++) {
      now += 1000 / RESETS_PER_SECOND;
      assert.ok(budget.take(), `reset ${i}`);
    }
  });

  it('for resets, is stricter than nghttp2 (1000 at once, 33 a second) at any burst the setting allows, so it is spent first', () => {
    assert.ok(RESETS_PER_SECOND < 33);
    let now = 0;
    const budget = new RateBudget(900, RESETS_PER_SECOND, () => now);
    let allowed = 0;
    // nghttp2's bucket over 10 s of resets at 200 a second: 1000 + 33 × 10 before it trips.
    for (let i = 0; i < 2000 && budget.take(); i++, now += 5) allowed++;
    assert.ok(allowed < 1000 + 33 * 10, `${allowed} resets allowed`);
  });
});

describe('ClientConnections', () => {
  it('gives each address perClient connections, and one back as each closes', () => {
    const c = new ClientConnections(2);
    assert.ok(c.take('10.0.0.1'));
    assert.ok(c.take('10.0.0.1'));
    assert.equal(c.take('10.0.0.1'), false, 'a third from the same address');
    assert.ok(c.take('10.0.0.2'), 'another address has its own');
    assert.equal(c.total, 3);
    c.give('10.0.0.1');
    assert.ok(c.take('10.0.0.1'), 'room again once one closed');
    c.give('10.0.0.1');
    c.give('10.0.0.1');
    c.give('10.0.0.1');
    assert.equal(c.total, 1, 'a place given back twice is given back once');
  });
});
