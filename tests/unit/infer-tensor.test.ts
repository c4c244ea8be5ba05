// The tensor pipeline with a fake engine and the real Admission: the order of admission, body,
// place, parse, run and answer; refusals; the deadline it passes down; when the request is over.
// The same behaviours run through Chromium in tests/integration/apis-on-one-server/kserve-v2.ts and grpc.test.ts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../server/errors.js';
import type { Tensor, TensorResult } from '../../server/page/inference-engine.js';
import { Admission } from '../../server/pipeline/admission.js';
import type { Deadline } from '../../server/ops/deadline.js';
import { inferTensor } from '../../server/pipeline/infer-tensor.js';
import type { InferenceCall, InferenceGuards } from '../../server/pipeline/inference-core.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import type { ModelVersion } from '../../server/store/model-store.js';
import { FakeEngine } from '../support/fake-engine.js';

const model = { key: 'm/1', name: 'm', version: '1', config: parseModelConfig({ input_name: 'input', output_name: 'output' }) } as ModelVersion;

/** Records the deadline each run was given. */
class DeadlineEngine extends FakeEngine {
  deadlines: Deadline[] = [];
  override async runTensor(m: ModelVersion, tensor: Tensor, deadline?: Deadline): Promise<TensorResult> {
    if (deadline) this.deadlines.push(deadline);
    return super.runTensor(m, tensor);
  }
}

/** A server's guards around `admission`; `inFlight` counts the requests shutdown would wait for. */
function setup(admission = new Admission(1, 1000, 1000)) {
  const inFlight = { n: 0 };
  const guards = {
    admission,
    maxRequestSize: 1000,
    defaultResponseTimeoutMs: 5000,
    isClosing: () => false,
    track: () => {
      inFlight.n++;
      return () => inFlight.n--;
    },
  } as unknown as InferenceGuards;
  const engine = new DeadlineEngine();
  return { pipeline: { engine, guards }, engine, admission, inFlight };
}

/** A call as a protocol makes it; `finish` is what the pipeline handed over once it admitted it. */
function callOf(fields: Partial<InferenceCall> = {}) {
  const state = { finish: null as (() => void) | null, refusals: [] as unknown[] };
  const call: InferenceCall = {
    arrivedAt: performance.now(),
    declaredBytes: 8,
    arrivedWhole: false,
    admitted: (finish) => {
      state.finish = finish;
      return new AbortController().signal;
    },
    refused: (e) => {
      state.refusals.push(e);
      return e;
    },
    ...fields,
  };
  return { call, state };
}

const tensor = (): Tensor => ({ data: Float32Array.of(3, 4), dims: [1, 2] });

describe('inferTensor', () => {
  it('admits, reads the body, takes the place, parses, runs and answers, in that order, and tells the stages', async () => {
    const { pipeline, engine, admission } = setup();
    const { call, state } = callOf();
    const steps: string[] = [];
    const served = await inferTensor(pipeline, call, {
      model,
      read: async (ticket) => {
        steps.push(`read (admitted: ${state.finish !== null})`);
        ticket.hold(8);
        return 'body';
      },
      parse: (body) => {
        assert.throws(() => admission.arrive(model.key, 0), /job_queue_size 1/, 'the place is taken before the parse');
        steps.push(`parse ${body}`);
        return { tensor: tensor(), id: 'r1' };
      },
      answer: (out, parsed) => {
        steps.push('answer');
        return `${parsed.id}: [${out.dims}] starting ${out.data[0]}`;
      },
    });
    assert.deepEqual(steps, ['read (admitted: true)', 'parse body', 'answer']);
    assert.equal(engine.deadlines.length, 1);
    assert.equal(served.answer, 'r1: [1,1000] starting 3', "the engine's output, in the protocol's form");
    assert.match(served.headers['Server-Timing']!, /^read;dur=[\d.]+, decode;dur=[\d.]+, queue;dur=0\.0, transfer;dur=1\.0, infer;dur=1\.0, post;dur=[\d.]+, total;dur=[\d.]+$/);
    assert.equal(served.headers['X-Batch-Size'], '1');
    assert.deepEqual(Object.keys(served.access), ['model', 'version', 'batch', 'stages']);
    assert.deepEqual([served.access['model'], served.access['version'], served.access['batch']], ['m', '1', 1]);
  });

  it('refuses a body declared past max_request_size before reading it, as the protocol dresses the refusal', async () => {
    const { pipeline, inFlight } = setup();
    const { call, state } = callOf({ declaredBytes: 1001, refused: (e) => (state.refusals.push(e), new Error('dressed')) });
    let read = false;
    const request = inferTensor(pipeline, call, {
      model,
      read: async () => {
        read = true;
        return null;
      },
      parse: () => ({ tensor: tensor() }),
      answer: () => null,
    });
    await assert.rejects(request, /^Error: dressed$/);
    assert.equal(read, false);
    assert.ok(state.refusals[0] instanceof ApiError && state.refusals[0].status === 413);
    assert.equal(state.finish, null, 'not admitted');
    assert.equal(inFlight.n, 0);
  });

  it("answers 503 once the body is in when the model's places are taken, before parsing", async () => {
    const admission = new Admission(1, 1000, 1000);
    const other = admission.arrive(model.key, 0);
    const { pipeline } = setup(admission);
    const { call } = callOf();
    let parsed = false;
    const request = inferTensor(pipeline, call, {
      model,
      read: async () => {
        other.place(); // another request's body came in meanwhile
        return null;
      },
      parse: () => {
        parsed = true;
        return { tensor: tensor() };
      },
      answer: () => null,
    });
    await assert.rejects(request, (e: unknown) => e instanceof ApiError && e.status === 503 && /job_queue_size 1/.test(e.message));
    assert.equal(parsed, false);
  });

  it("a message that came whole has no read stage, and the client's own deadline, where sooner, is the run's", async () => {
    const { pipeline, engine } = setup();
    const { call } = callOf({ arrivedWhole: true, arrivedAt: performance.now(), clientRemainingMs: () => 50 });
    const served = await inferTensor(pipeline, call, { model, read: async () => null, parse: () => ({ tensor: tensor() }), answer: () => null });
    assert.equal((served.access['stages'] as Record<string, number>)['read'], 0);
    assert.match(served.headers['Server-Timing']!, /^read;dur=0\.0, /);
    assert.equal(engine.deadlines[0]!.setting, "the client's gRPC deadline");
    assert.equal(engine.deadlines[0]!.totalMs, 50);
  });

  it('holds its bytes and its place until the protocol says the request is over, once', async () => {
    const { pipeline, admission, inFlight } = setup();
    const { call, state } = callOf();
    await inferTensor(pipeline, call, {
      model,
      read: async (ticket) => {
        ticket.hold(8);
        return null;
      },
      parse: () => ({ tensor: tensor() }),
      answer: () => null,
    });
    assert.equal(admission.bytesHeld, 8, 'answered, but the response is not sent yet');
    assert.equal(inFlight.n, 1);
    state.finish!();
    state.finish!();
    assert.equal(admission.bytesHeld, 0);
    assert.equal(inFlight.n, 0);
    assert.doesNotThrow(() => admission.arrive(model.key, 0).place(), 'the place is free again');
  });
});
