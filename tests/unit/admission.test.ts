import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admission } from '../../server/pipeline/admission.js';
import { ApiError } from '../../server/errors.js';

const refused = (re: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 503 && e.headers['Retry-After'] === '1' && re.test(e.message);

describe('Admission', () => {
  it('gives each model job_queue_size places, taken once a body is in and given back on release', () => {
    const a = new Admission(2, 1000, 100);
    const t1 = a.arrive('m/1', 0);
    const t2 = a.arrive('m/1', 0);
    const t3 = a.arrive('m/1', 0);
    assert.equal(a.inProgress('m/1'), 0, 'arrived, not yet in progress');
    t1.place();
    t2.place();
    assert.equal(a.inProgress('m/1'), 2);
    assert.throws(() => t3.place(), refused(/job_queue_size 2/));
    assert.throws(() => a.arrive('m/1', 0), refused(/job_queue_size 2/), 'refused on arrival while full');
    assert.doesNotThrow(() => a.arrive('other/1', 0).place(), 'other models have their own places');
    t1.release();
    t1.release();
    assert.equal(a.inProgress('m/1'), 1);
    t3.place();
    assert.throws(() => a.arrive('m/1', 0).place(), 'a double release gave back one place only');
  });

  it('an arriving request takes nothing: a slow upload holds only the bytes it sent, and no place', () => {
    const a = new Admission(1, 1000, 100);
    const slow = a.arrive('m/1', 900);
    slow.hold(10);
    assert.equal(a.bytesHeld, 10);
    assert.doesNotThrow(() => a.arrive('m/1', 900).place(), 'the place is free');
    assert.throws(() => a.arrive('m/1', 0), refused(/job_queue_size 1/));
    slow.release();
  });

  it('holds bytes against one budget for all requests, refuses past it, and refuses on arrival what cannot fit', () => {
    const a = new Admission(10, 1000, 100);
    const t1 = a.arrive('m/1', 600);
    const t2 = a.arrive('n/1', 0);
    t1.hold(600);
    assert.throws(() => t2.hold(500), refused(/max_inflight_bytes 1000/));
    assert.throws(() => a.arrive('m/1', 500), refused(/max_inflight_bytes 1000/), 'declared bytes that cannot fit');
    t2.hold(300);
    assert.equal(a.blocked(), null, 'room left for a request of max_request_size');
    t2.hold(100);
    assert.equal(a.bytesHeld, 1000);
    assert.match(a.blocked() ?? '', /no room for one of max_request_size under max_inflight_bytes \(1000\)/);
    t1.release();
    assert.equal(a.bytesHeld, 400);
    assert.equal(a.blocked(), null);
    t2.release();
    assert.equal(a.bytesHeld, 0);
  });

  it('readiness leaves out the bytes of bodies still arriving: only work taken in can block it', () => {
    const a = new Admission(10, 1000, 100);
    const arriving = a.arrive('m/1', 0);
    arriving.hold(950);
    assert.match(a.blocked() ?? '', /bodies already in \(950\)/);
    assert.equal(a.blocked(950), null, 'all 950 bytes are of a body still arriving');
    assert.match(a.blocked(10) ?? '', /bodies already in \(940\)/);
    arriving.release();
  });

  it('a released ticket holds nothing more', () => {
    const a = new Admission(1, 1000, 100);
    const t = a.arrive('m/1', 0);
    t.release();
    t.hold(500);
    t.place();
    assert.equal(a.bytesHeld, 0);
    assert.doesNotThrow(() => a.arrive('m/1', 0).place());
  });
});
