// Bodies while they arrive, pure: each client's bound on bytes still arriving, the minimum pace
// on a hand-driven clock, and which client an address counts as.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientOf } from '../../server/http/uploads/client-address.js';
import { ApiError } from '../../server/errors.js';
import { watchUploadRate, type WindowClock } from '../../server/http/uploads/upload-rate.js';
import { Uploads } from '../../server/http/uploads/uploads.js';

/** Timers that fire only when the test moves time on. */
class HandClock implements WindowClock {
  now = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.now + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.now = due.at;
      due.fn();
    }
    this.now = end;
  }
}

const tooMany = (e: unknown) =>
  e instanceof ApiError && e.status === 429 && e.type === 'TooManyRequestsException' && e.headers['Retry-After'] === '1' && /max_client_upload_bytes 1000/.test(e.message);

describe('minimum upload rate', () => {
  const rate = { minBytesPerSecond: 100, windowMs: 2000 };

  it('judges nothing before the first window ends, then each window on its own bytes', () => {
    const clock = new HandClock();
    const stalls: number[] = [];
    const watch = watchUploadRate(rate, (n) => stalls.push(n), clock);
    clock.advance(1999);
    assert.deepEqual(stalls, [], 'the first window is the grace period');
    watch.received(200);
    clock.advance(1);
    assert.deepEqual(stalls, [], '200 bytes in 2 s is 100 bytes/s');
    watch.received(5000);
    clock.advance(2000);
    assert.deepEqual(stalls, []);
    watch.received(199);
    clock.advance(2000);
    assert.deepEqual(stalls, [199], 'a fast window does not carry over into a slow one');
    assert.equal(clock.pending, 0, 'told once, then no more verdicts');
  });

  it('a body that stalls after a fast start is cut within two windows', () => {
    const clock = new HandClock();
    const stalls: number[] = [];
    const watch = watchUploadRate(rate, (n) => stalls.push(n), clock);
    watch.received(6_553_499);
    clock.advance(2000);
    clock.advance(2000);
    assert.deepEqual(stalls, [0]);
  });

  it('stops judging once the body is in, and does not watch at all with no minimum', () => {
    const clock = new HandClock();
    const stalls: number[] = [];
    watchUploadRate(rate, (n) => stalls.push(n), clock).stop();
    assert.equal(clock.pending, 0);
    watchUploadRate({ minBytesPerSecond: 0, windowMs: 2000 }, (n) => stalls.push(n), clock);
    assert.equal(clock.pending, 0);
    clock.advance(60_000);
    assert.deepEqual(stalls, []);
  });
});

describe('bodies still arriving, by client', () => {
  const rules = { perClientBytes: 1000, minBytesPerSecond: 0, windowMs: 1000 };
  const never = () => assert.fail('no stall expected');

  it('bounds the bytes one client has arriving across its bodies; other clients are not affected', () => {
    const uploads = new Uploads(rules, new HandClock());
    const first = uploads.begin('127.0.0.1', 600, never);
    first.received(600);
    assert.throws(() => uploads.begin('127.0.0.1', 500, never), tooMany, 'refused from its declared length, before a byte is read');
    const chunked = uploads.begin('127.0.0.1', 0, never);
    chunked.received(400);
    assert.throws(() => chunked.received(1), tooMany, 'refused as the bytes arrive');
    const other = uploads.begin('127.0.0.2', 1000, never);
    other.received(1000);
    assert.equal(uploads.bytesArrivingFrom('127.0.0.1'), 1000);
    assert.equal(uploads.bytesArrivingFrom('127.0.0.2'), 1000);
    assert.equal(uploads.bytesArriving, 2000);
    first.end();
    first.end();
    assert.equal(uploads.bytesArrivingFrom('127.0.0.1'), 400, 'a body in no longer counts, and only once');
    assert.doesNotThrow(() => uploads.begin('127.0.0.1', 600, never));
    chunked.end();
    other.end();
    assert.equal(uploads.bytesArriving, 0);
    first.received(5000);
    assert.equal(uploads.bytesArriving, 0, 'an ended body counts nothing more');
  });

  it('counts an IPv4 client the same through a dual-stack socket, and an IPv6 client by its /64', () => {
    const uploads = new Uploads(rules, new HandClock());
    uploads.begin('::ffff:192.0.2.7', 0, never).received(700);
    assert.throws(() => uploads.begin('192.0.2.7', 400, never), tooMany);
    uploads.begin('2001:db8:1:2::1', 0, never).received(700);
    assert.throws(() => uploads.begin('2001:db8:1:2:ffff::9', 400, never), tooMany, 'another address of the same /64');
    assert.doesNotThrow(() => uploads.begin('2001:db8:1:3::1', 400, never), 'another /64');
  });

  it('tells of a stalled body with a 408 in TorchServe terms', () => {
    const clock = new HandClock();
    const uploads = new Uploads({ perClientBytes: 1000, minBytesPerSecond: 10, windowMs: 1000 }, clock);
    const told: ApiError[] = [];
    const upload = uploads.begin('127.0.0.1', 0, (e) => told.push(e));
    upload.received(500);
    clock.advance(1000);
    assert.equal(told.length, 0);
    clock.advance(1000);
    assert.equal(told.length, 1);
    assert.equal(told[0]!.status, 408);
    assert.equal(told[0]!.type, 'RequestTimeoutException');
    assert.match(told[0]!.message, /fewer than 10 bytes per second over 1 s \(min_upload_rate, upload_rate_window\)/);
    upload.end();
    assert.equal(uploads.bytesArriving, 0);
  });
});

describe('clientOf', () => {
  it('an IPv4 address as it is, an IPv6 one by its /64', () => {
    assert.equal(clientOf('127.0.0.1'), '127.0.0.1');
    assert.equal(clientOf('::ffff:127.0.0.2'), '127.0.0.2');
    assert.equal(clientOf('::1'), '0:0:0:0::/64');
    assert.equal(clientOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientOf('2001:0db8:0000:0042:abcd::1'), '2001:db8:0:42::/64');
    assert.equal(clientOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientOf('2001:db8:1:2:3:4:5:6'), clientOf('2001:db8:1:2::'));
    assert.equal(clientOf('::ffff:1:2'), '0:0:0:0::/64');
    assert.equal(clientOf(undefined), 'unknown');
  });
});
