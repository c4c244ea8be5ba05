// A request's one deadline: an instant on a clock, read the same by every layer down to the
// page's call. Time is a ManualClock moved by hand.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../server/errors.js';
import { Deadline } from '../../server/ops/deadline.js';
import { ManualClock } from '../support/manual-clock.js';

describe('Deadline', () => {
  it('is an instant on its clock: what is left shrinks as the clock moves, and never below 0', () => {
    const clock = new ManualClock();
    clock.advance(40);
    const d = Deadline.after(1000, 'default_response_timeout', clock);
    assert.equal(d.at, 1040);
    assert.equal(d.remainingMs(), 1000);
    clock.advance(300);
    assert.equal(d.remainingMs(), 700);
    assert.equal(d.at, 1040, 'the instant itself does not move');
    clock.advance(5000);
    assert.equal(d.remainingMs(), 0);
  });

  it('has expired from a millisecond before its instant, as timers may fire that early', () => {
    const clock = new ManualClock();
    const d = Deadline.after(100, 'default_response_timeout', clock);
    clock.advance(98);
    assert.equal(d.expired(), false);
    clock.advance(1);
    assert.equal(d.expired(), true);
  });

  it('the sooner of two is the one whose instant comes first, whenever each was set', () => {
    const clock = new ManualClock();
    const long = Deadline.after(1000, 'default_response_timeout', clock);
    clock.advance(600);
    const short = Deadline.after(300, "response_timeout in m's config.json", clock);
    const later = Deadline.after(500, "the client's gRPC deadline", clock);
    assert.equal(long.soonest(short), short);
    assert.equal(short.soonest(long), short);
    assert.equal(long.soonest(later), long);
    assert.equal(later.soonest(long), long);
  });

  it('answers a 504 that names what ran late, the whole budget and the setting that sets it', () => {
    const e = Deadline.after(1500, "response_timeout in m's config.json", new ManualClock()).exceeded('decoding the image');
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 504);
    assert.equal(e.message, "The prediction timed out: decoding the image took it past 1.5 s (raise response_timeout in m's config.json to allow more).");
    assert.match(Deadline.after(120_000, 'default_response_timeout', new ManualClock()).exceeded('x').message, /took it past 120 s/);
  });
});
