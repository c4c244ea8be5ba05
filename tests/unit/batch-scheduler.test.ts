// The batch scheduler with scripted workers: what runs together, when, and what is refused.
// Time is a ManualClock moved by hand: delays and deadlines are checked at exact instants, and
// nothing depends on how fast the machine runs the test.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchScheduler, type BatchJob, type BatchRun, type BatchWorker, type SchedulerOptions } from '../../server/pipeline/batch-scheduler.js';
import { Deadline } from '../../server/ops/deadline.js';
import type { HandlerItem, RunTiming, Tensor, TensorResult } from '../../server/page/inference-engine.js';
import { BridgeError } from '../../server/page/bridge-error.js';
import { ManualClock } from '../support/manual-clock.js';

/** Lets every promise callback that is ready run: a released batch's answers, and the dispatch after it. */
const settle = () => new Promise((r) => setImmediate(r));

/** A worker whose batches finish when the test says so, or at once when `auto`. */
class ScriptedWorker implements BatchWorker {
  ready = true;
  capacity = 1;
  batches: number[][] = [];
  /** The deadline each batch was given. */
  deadlines: Deadline[] = [];
  private releases: Array<() => void> = [];
  constructor(
    private readonly auto = false,
    private readonly failWith: Error | null = null,
  ) {}

  runBatch(jobs: BatchJob[], deadline: Deadline): Promise<BatchRun> {
    this.batches.push(jobs.map((j) => j.pixels[0]!));
    this.deadlines.push(deadline);
    return new Promise((resolve, reject) => {
      const done = () => {
        if (this.failWith) reject(this.failWith);
        else
          resolve({
            results: jobs.map((j) => ({ classes: Int32Array.of(j.pixels[0]!), probabilities: Float32Array.of(j.k) })),
            timing: { batch: jobs.length, queueMs: 0, transferMs: 1, inferMs: 2 },
          });
      };
      if (this.auto) queueMicrotask(done);
      else this.releases.push(done);
    });
  }

  runTensor(job: Tensor, deadline: Deadline): Promise<TensorResult> {
    this.deadlines.push(deadline);
    // The first value of each row, negated: which tensors' rows ran together.
    const per = job.data.length / job.dims[0]!;
    this.batches.push(Array.from({ length: job.dims[0]! }, (_, r) => -job.data[r * per]!));
    return new Promise((resolve, reject) => {
      const done = () => (this.failWith ? reject(this.failWith) : resolve({ data: job.data, dims: job.dims, timing: { batch: 1, queueMs: 0, transferMs: 1, inferMs: 2 } }));
      if (this.auto) queueMicrotask(done);
      else this.releases.push(done);
    });
  }

  runItems(items: HandlerItem[], deadline: Deadline): Promise<{ answers: string[]; timing: RunTiming }> {
    this.deadlines.push(deadline);
    // Items as their first byte plus 1000: which ran together, told from images.
    this.batches.push(items.map((i) => 1000 + i.bytes[0]!));
    return new Promise((resolve, reject) => {
      const done = () =>
        this.failWith ? reject(this.failWith) : resolve({ answers: items.map((i) => `[${i.bytes[0]},${i.meta[0]}]`), timing: { batch: items.length, queueMs: 0, transferMs: 1, inferMs: 2 } });
      if (this.auto) queueMicrotask(done);
      else this.releases.push(done);
    });
  }

  release(): void {
    this.releases.shift()?.();
  }
}

const job = (id: number, k = 5): BatchJob => ({ pixels: Uint8Array.of(id), k });

/** max_batch_decode_wait in the tests that wait for decodes. */
const DECODE_WAIT = 20;

describe('BatchScheduler', () => {
  /** The clock of the test's scheduler, which its deadlines are on. */
  let testClock = new ManualClock();
  /** A deadline `ms` from now on the test's clock, set by `setting`. */
  const within = (ms: number, setting = 'default_response_timeout') => Deadline.after(ms, setting, testClock);
  /** A scheduler on a clock of the test's own, which stands still until advanced. */
  const scheduler = (workers: BatchWorker[], options: SchedulerOptions) => {
    const clock = new ManualClock();
    testClock = clock;
    return { s: new BatchScheduler(() => workers, options, clock), clock };
  };

  it('runs at once when a worker is free and there is no batch delay', async () => {
    const w = new ScriptedWorker(true);
    const { s } = scheduler([w], { batchSize: 8, maxBatchDelayMs: 0, queueSize: 10 });
    const r = await s.submit(job(7, 3), within(1000));
    assert.deepEqual(w.batches, [[7]]);
    assert.equal(r.timing.batch, 1);
    assert.equal(r.classes[0], 7, 'each request gets its own result back');
    assert.equal(r.probabilities[0], 3);
  });

  it('batches what arrives while the worker is busy, up to batch_size, in arrival order', async () => {
    const w = new ScriptedWorker();
    const { s, clock } = scheduler([w], { batchSize: 3, maxBatchDelayMs: 0, queueSize: 10 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => s.submit(job(i), within(1000)));
    assert.deepEqual(w.batches, [[1]]);
    clock.advance(7);
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [2, 3, 4]]);
    clock.advance(5);
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [2, 3, 4], [5, 6]]);
    w.release();
    const results = await Promise.all(all);
    assert.deepEqual(
      results.map((r) => r.classes[0]),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      results.map((r) => r.timing.batch),
      [1, 3, 3, 3, 2, 2],
    );
    assert.deepEqual(
      results.map((r) => r.timing.queueMs),
      [0, 7, 7, 7, 12, 12],
      'from arrival to the start of its batch',
    );
  });

  it('waits up to max_batch_delay for a batch to fill, and no longer', async () => {
    const w = new ScriptedWorker(true);
    const { s, clock } = scheduler([w], { batchSize: 4, maxBatchDelayMs: 300, queueSize: 10 });
    const first = s.submit(job(1), within(2000));
    clock.advance(10);
    const second = s.submit(job(2), within(2000));
    clock.advance(289);
    assert.deepEqual(w.batches, [], 'nothing runs before the delay');
    clock.advance(1);
    assert.deepEqual(w.batches, [[1, 2]], 'both run together when it ends');
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual([a.timing.queueMs, b.timing.queueMs], [300, 290]);
  });

  it("gives a batch the soonest of its requests' deadlines, naming that request's setting", async () => {
    const w = new ScriptedWorker();
    const { s, clock } = scheduler([w], { batchSize: 3, maxBatchDelayMs: 0, queueSize: 10 });
    const all = [s.submit(job(1), within(1000))];
    clock.advance(100);
    all.push(s.submit(job(2), within(5000)), s.submit(job(3), within(600, "response_timeout in m's config.json")), s.submit(job(4), within(2000)));
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [2, 3, 4]]);
    assert.equal(w.deadlines[1]!.setting, "response_timeout in m's config.json");
    assert.equal(w.deadlines[1]!.at, 700, 'the instant that request is late, not a time left');
    w.release();
    await Promise.all(all);
  });

  it('a full batch does not wait for the delay', async () => {
    const w = new ScriptedWorker(true);
    const { s, clock } = scheduler([w], { batchSize: 2, maxBatchDelayMs: 10_000, queueSize: 10 });
    const both = Promise.all([s.submit(job(1), within(20_000)), s.submit(job(2), within(20_000))]);
    assert.deepEqual(w.batches, [[1, 2]], 'sent to the worker as the second arrives, with no time passed');
    assert.deepEqual(
      (await both).map((r) => r.timing.queueMs),
      [0, 0],
    );
    assert.equal(clock.now(), 0);
  });

  it('spreads batches over free workers', async () => {
    const a = new ScriptedWorker();
    const b = new ScriptedWorker();
    const { s } = scheduler([a, b], { batchSize: 2, maxBatchDelayMs: 0, queueSize: 10 });
    const all = [1, 2, 3].map((i) => s.submit(job(i), within(1000)));
    assert.deepEqual(a.batches, [[1]]);
    assert.deepEqual(b.batches, [[2]]);
    assert.deepEqual([s.queued, s.batchesInFlight], [1, 2]);
    b.release();
    await settle();
    assert.deepEqual(b.batches, [[2], [3]]);
    assert.deepEqual([s.queued, s.batchesInFlight], [0, 2]);
    a.release();
    b.release();
    await Promise.all(all);
  });

  it('waits for images of its model still decoding, and runs them together as they arrive', async () => {
    const w = new ScriptedWorker(true);
    const { s, clock } = scheduler([w], { batchSize: 8, maxBatchDelayMs: 0, queueSize: 10, decodeWaitMs: DECODE_WAIT });
    const arrived = [s.expect(), s.expect(), s.expect()];
    arrived[0]!();
    const first = s.submit(job(1), within(1000));
    clock.advance(3);
    arrived[1]!();
    const second = s.submit(job(2), within(1000));
    await settle();
    assert.deepEqual(w.batches, [], 'the third is still decoding: the batch waits');
    clock.advance(2);
    arrived[2]!();
    const third = s.submit(job(3), within(1000));
    await settle();
    assert.deepEqual(w.batches, [[1, 2, 3]], 'the last to arrive ends the wait');
    const results = await Promise.all([first, second, third]);
    assert.deepEqual(
      results.map((r) => r.timing.queueMs),
      [5, 2, 0],
    );
  });

  it(`waits for decoding images ${DECODE_WAIT} ms at most`, async () => {
    const w = new ScriptedWorker(true);
    const { s, clock } = scheduler([w], { batchSize: 8, maxBatchDelayMs: 0, queueSize: 10, decodeWaitMs: DECODE_WAIT });
    const [a, slow] = [s.expect(), s.expect()];
    a();
    const first = s.submit(job(1), within(1000));
    await settle();
    clock.advance(DECODE_WAIT - 1);
    assert.deepEqual(w.batches, []);
    clock.advance(1);
    assert.deepEqual(w.batches, [[1]], 'the slow decode is left behind');
    assert.equal((await first).timing.queueMs, DECODE_WAIT);
    slow();
    const late = s.submit(job(2), within(1000));
    await late;
    assert.deepEqual(w.batches, [[1], [2]]);
  });

  it('an image that fails its decode ends the wait for it', async () => {
    const w = new ScriptedWorker(true);
    const { s } = scheduler([w], { batchSize: 8, maxBatchDelayMs: 0, queueSize: 10, decodeWaitMs: DECODE_WAIT });
    const [a, failed] = [s.expect(), s.expect()];
    a();
    const first = s.submit(job(1), within(1000));
    await settle();
    assert.deepEqual(w.batches, []);
    failed();
    failed(); // told twice, counted once
    await settle();
    assert.deepEqual(w.batches, [[1]]);
    await first;
    const next = [s.expect()];
    next[0]!();
    const second = s.submit(job(2), within(1000));
    await second;
    assert.deepEqual(w.batches, [[1], [2]], 'nothing is still counted as decoding');
  });

  it('does not wait for decoding images that idle workers can each take alone', async () => {
    const a = new ScriptedWorker();
    const b = new ScriptedWorker();
    const { s } = scheduler([a, b], { batchSize: 8, maxBatchDelayMs: 0, queueSize: 10, decodeWaitMs: DECODE_WAIT });
    const arrived = [s.expect(), s.expect()];
    arrived[0]!();
    const first = s.submit(job(1), within(1000));
    assert.deepEqual(a.batches, [[1]], 'one decoding, one idle worker besides: no wait');
    arrived[1]!();
    const second = s.submit(job(2), within(1000));
    assert.deepEqual(b.batches, [[2]]);
    a.release();
    b.release();
    await Promise.all([first, second]);
  });

  it('a longer max_batch_delay governs, and the wait returns to it once nothing decodes', async () => {
    const w = new ScriptedWorker(true);
    const { s, clock } = scheduler([w], { batchSize: 8, maxBatchDelayMs: 5, queueSize: 10, decodeWaitMs: DECODE_WAIT });
    const [a, failed] = [s.expect(), s.expect()];
    a();
    const first = s.submit(job(1), within(1000));
    clock.advance(2);
    failed();
    await settle();
    clock.advance(2);
    assert.deepEqual(w.batches, []);
    clock.advance(1);
    assert.deepEqual(w.batches, [[1]], 'at max_batch_delay, not at the longer wait for decodes');
    await first;
  });

  for (const [what, options] of [
    ['a max_batch_decode_wait of 0', { batchSize: 8, decodeWaitMs: 0 }],
    ['a batch_size of 1', { batchSize: 1, decodeWaitMs: DECODE_WAIT }],
  ] as const) {
    it(`${what} never waits for decoding images`, async () => {
      const w = new ScriptedWorker(true);
      const { s } = scheduler([w], { ...options, maxBatchDelayMs: 0, queueSize: 10 });
      const arrived = [s.expect(), s.expect()];
      arrived[0]!();
      const first = s.submit(job(1), within(1000));
      assert.deepEqual(w.batches, [[1]]);
      arrived[1]!();
      await first;
    });
  }

  it('a worker with room for two takes a second batch only when it is full', async () => {
    const w = new ScriptedWorker();
    w.capacity = 2;
    const { s } = scheduler([w], { batchSize: 2, maxBatchDelayMs: 0, queueSize: 10 });
    const all = [s.submit(job(1), within(1000)), s.submit(job(2), within(1000))];
    assert.deepEqual(w.batches, [[1]], 'idle: the first runs alone at once');
    await settle();
    assert.deepEqual(w.batches, [[1]], 'one queued request does not make a second batch');
    all.push(s.submit(job(3), within(1000)));
    assert.deepEqual(w.batches, [[1], [2, 3]], 'a full batch goes in while the first runs');
    all.push(s.submit(job(4), within(1000)), s.submit(job(5), within(1000)));
    assert.deepEqual(w.batches, [[1], [2, 3]], 'no third batch in flight');
    for (let i = 0; i < 3; i++) {
      w.release();
      await settle();
    }
    assert.deepEqual(w.batches, [[1], [2, 3], [4, 5]]);
    await Promise.all(all);
  });

  it('refuses at once with kind "busy" when the queue is full', async () => {
    const w = new ScriptedWorker();
    const { s } = scheduler([w], { batchSize: 1, maxBatchDelayMs: 0, queueSize: 2 });
    const running = s.submit(job(1), within(1000)); // on the worker, not in the queue
    const queued = [s.submit(job(2), within(1000)), s.submit(job(3), within(1000))];
    await assert.rejects(s.submit(job(4), within(1000)), (e: unknown) => e instanceof BridgeError && e.kind === 'busy');
    assert.equal(s.queued, 2);
    for (let i = 0; i < 3; i++) {
      w.release();
      await settle();
    }
    await Promise.all([running, ...queued]);
  });

  it('times out a request that waits too long in the queue, and drops it from the queue', async () => {
    const w = new ScriptedWorker();
    const { s, clock } = scheduler([w], { batchSize: 1, maxBatchDelayMs: 0, queueSize: 10 });
    const running = s.submit(job(1), within(1000));
    const late = s.submit(job(2), within(20, "response_timeout in m's config.json"));
    clock.advance(19);
    assert.equal(s.queued, 1, 'still waiting just before its deadline');
    clock.advance(1);
    await assert.rejects(
      late,
      (e: unknown) => e instanceof BridgeError && e.kind === 'timeout' && e.message === "the request waited 20 ms in the queue (raise response_timeout in m's config.json to allow more)",
    );
    assert.equal(s.queued, 0);
    w.release();
    await running;
    assert.deepEqual(w.batches, [[1]], 'the timed-out request never ran');
  });

  it('a failed batch fails each of its requests, and the next batch still runs', async () => {
    const bad = new ScriptedWorker(true, new BridgeError('runtime', 'boom'));
    const { s } = scheduler([bad], { batchSize: 2, maxBatchDelayMs: 0, queueSize: 10 });
    const results = await Promise.allSettled([s.submit(job(1), within(1000)), s.submit(job(2), within(1000)), s.submit(job(3), within(1000))]);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.deepEqual(bad.batches, [[1], [2, 3]]);
  });

  it('with no ready worker, refuses new requests and fails queued ones at once', async () => {
    const w = new ScriptedWorker();
    const { s } = scheduler([w], { batchSize: 1, maxBatchDelayMs: 0, queueSize: 10 });
    const running = s.submit(job(1), within(5000));
    const queued = s.submit(job(2), within(5000));
    w.ready = false;
    s.workersChanged();
    await assert.rejects(queued, (e: unknown) => e instanceof BridgeError && e.kind === 'closed');
    await assert.rejects(s.submit(job(3), within(5000)), (e: unknown) => e instanceof BridgeError && e.kind === 'closed');
    w.release();
    await running;
  });

  it('runs a tensor alone, in arrival order with the images, and ends the batch before it', async () => {
    const w = new ScriptedWorker();
    const { s, clock } = scheduler([w], { batchSize: 4, maxBatchDelayMs: 50, queueSize: 10 });
    const first = s.submit(job(1), within(1000));
    const tensor = s.submitTensor({ data: Float32Array.of(9), dims: [1] }, within(1000));
    const after = s.submit(job(2), within(1000));
    await settle();
    assert.deepEqual(w.batches, [[1]], 'the image waiting for company runs at once when a tensor queues behind it');
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [-9]], 'then the tensor, alone');
    w.release();
    await settle();
    clock.advance(49);
    assert.deepEqual(w.batches, [[1], [-9]], 'the last image, alone, waits for company');
    clock.advance(1);
    assert.deepEqual(w.batches, [[1], [-9], [2]], 'until the batch delay ends');
    w.release();
    const t = await tensor;
    assert.deepEqual([...t.data], [9]);
    assert.equal(t.timing.queueMs, 0);
    await Promise.all([first, after]);
  });

  it('batches tensors whose other dimensions agree, up to batch_size rows, and gives each its rows back', async () => {
    const w = new ScriptedWorker();
    const { s } = scheduler([w], { batchSize: 4, maxBatchDelayMs: 0, queueSize: 10 });
    const tensor = (dims: number[], ...rows: number[]) => s.submitTensor({ data: Float32Array.from(rows.flatMap((r) => new Array<number>(dims[1]!).fill(r))), dims }, within(1000));
    const first = tensor([1, 2], 1);
    const a = tensor([2, 2], 2, 3);
    const b = tensor([1, 2], 4);
    const c = tensor([1, 3], 5);
    const d = tensor([2, 2], 6, 7);
    const e = tensor([4, 2], 8, 8, 8, 8);
    for (let i = 0; i < 5; i++) {
      w.release();
      await settle();
    }
    assert.deepEqual(w.batches, [[-1], [-2, -3, -4], [-5], [-6, -7], [-8, -8, -8, -8]], 'another shape or a full batch ends the batch');
    const [ra, rb, rd] = await Promise.all([a, b, d, first, c, e]).then((r) => r.slice(0, 3));
    assert.deepEqual([Array.from(ra!.data), ra!.dims, ra!.timing.batch], [[2, 2, 3, 3], [2, 2], 2]);
    assert.deepEqual([Array.from(rb!.data), rb!.dims, rb!.timing.batch], [[4, 4], [1, 2], 2]);
    assert.deepEqual([Array.from(rd!.data), rd!.dims, rd!.timing.batch], [[6, 6, 7, 7], [2, 2], 1]);
  });

  it('a tensor counts against the queue bound and its deadline like an image', async () => {
    const w = new ScriptedWorker();
    const { s, clock } = scheduler([w], { batchSize: 1, maxBatchDelayMs: 0, queueSize: 1 });
    const running = s.submit(job(1), within(1000));
    const late = s.submitTensor({ data: Float32Array.of(1), dims: [1] }, within(20));
    clock.advance(20);
    await assert.rejects(late, (e: unknown) => e instanceof BridgeError && e.kind === 'timeout');
    const queued = s.submitTensor({ data: Float32Array.of(2), dims: [1] }, within(1000));
    await assert.rejects(s.submitTensor({ data: Float32Array.of(3), dims: [1] }, within(1000)), (e: unknown) => e instanceof BridgeError && e.kind === 'busy');
    w.release();
    await settle();
    w.release();
    await Promise.all([running, queued]);
  });

  it('a request whose client has gone leaves the queue and never runs', async () => {
    const w = new ScriptedWorker();
    const { s } = scheduler([w], { batchSize: 1, maxBatchDelayMs: 0, queueSize: 10 });
    const running = s.submit(job(1), within(1000));
    const gone = new AbortController();
    const queued = s.submit(job(2), within(1000), gone.signal);
    gone.abort(new Error('the client went away'));
    await assert.rejects(queued, /the client went away/);
    assert.equal(s.queued, 0);
    const already = new AbortController();
    already.abort(new Error('gone before it came'));
    await assert.rejects(s.submitTensor({ data: Float32Array.of(1), dims: [1] }, within(1000), already.signal), /gone before it came/);
    w.release();
    await running;
    await settle();
    assert.deepEqual(w.batches, [[1]]);
  });
  it('batches handler items with items, never with images, and gives each its own answer', async () => {
    const w = new ScriptedWorker();
    const { s } = scheduler([w], { batchSize: 4, maxBatchDelayMs: 0, queueSize: 10 });
    const first = s.submit(job(1), within(1000));
    const items = [2, 3].map((id) => s.submitItem({ bytes: Uint8Array.of(id), meta: [id * 10] }, within(1000)));
    const last = s.submit(job(4), within(1000));
    await settle();
    assert.deepEqual(w.batches, [[1]]);
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [1002, 1003]]);
    w.release();
    await settle();
    assert.deepEqual(w.batches, [[1], [1002, 1003], [4]]);
    w.release();
    await Promise.all([first, last]);
    const answered = await Promise.all(items);
    assert.deepEqual(
      answered.map((a) => a.answer),
      ['[2,20]', '[3,30]'],
    );
    assert.equal(answered[0]!.timing.batch, 2);
  });
});
