// The pure parts of the gRPC transport: HTTP statuses as gRPC codes, a management request as the
// operation's parameters, TorchServe's `msg`, and a KServe input's values, typed or raw.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status as Code } from '@grpc/grpc-js';
import { ApiError, badRequest, fromBridgeError, serviceUnavailable, timeout } from '../../server/errors.js';
import { BridgeError } from '../../server/page/bridge-error.js';
import { grpcCodeOf } from '../../server/grpc/grpc-status.js';
import { inputValues } from '../../server/grpc/kserve-inference.js';
import { listParamsOf, messageOf, registerParamsOf, scaleParamsOf } from '../../server/grpc/torchserve-management.js';
import { Admission } from '../../server/pipeline/admission.js';
import type { ModelInferRequest } from '../../server/grpc/definitions.js';
import { deadlineFor } from '../../server/pipeline/inference-core.js';
import type { ModelVersion } from '../../server/store/model-store.js';

describe('gRPC status codes', () => {
  it('map every error a handler raises the way the KServe and TorchServe specs say', () => {
    assert.equal(grpcCodeOf(badRequest('x')), Code.INVALID_ARGUMENT);
    assert.equal(grpcCodeOf(new ApiError(401, 'InvalidKeyException', 'x')), Code.UNAUTHENTICATED);
    assert.equal(grpcCodeOf(new ApiError(404, 'ModelNotFoundException', 'x')), Code.NOT_FOUND);
    assert.equal(grpcCodeOf(new ApiError(409, 'ConflictStatusException', 'x')), Code.FAILED_PRECONDITION);
    assert.equal(grpcCodeOf(new ApiError(413, 'RequestEntityTooLargeException', 'x')), Code.RESOURCE_EXHAUSTED);
    assert.equal(grpcCodeOf(timeout('x')), Code.DEADLINE_EXCEEDED);
    assert.equal(grpcCodeOf(new ApiError(500, 'InternalServerException', 'x')), Code.INTERNAL);
  });

  it('a full queue is RESOURCE_EXHAUSTED; a shutdown or a model without a worker is UNAVAILABLE', () => {
    const full = new Admission(1, 1000, 10);
    full.arrive('m', 0).place();
    assert.throws(
      () => full.arrive('m', 0),
      (e: ApiError) => grpcCodeOf(e) === Code.RESOURCE_EXHAUSTED,
    );
    assert.equal(grpcCodeOf(fromBridgeError(new BridgeError('busy', 'the queue is full'))), Code.RESOURCE_EXHAUSTED);
    assert.equal(grpcCodeOf(serviceUnavailable('The server is shutting down.')), Code.UNAVAILABLE);
    assert.equal(grpcCodeOf(fromBridgeError(new BridgeError('crashed', 'gone'))), Code.UNAVAILABLE);
  });
});

describe('TorchServe management over gRPC', () => {
  it("reads proto3's '' and any number not above 0 as absent, and synchronous as false unless set, as TorchServe's GRPCUtils reads them", () => {
    const register = { url: 'm', model_name: '', initial_workers: 0, batch_size: 4, max_batch_delay: 0, response_timeout: 0, runtime: '', synchronous: false, startup_timeout: 0 };
    assert.deepEqual(registerParamsOf({ ...register, handler: '', s3_sse_kms: false }), {
      url: 'm',
      modelName: undefined,
      runtime: undefined,
      batchSize: 4,
      maxBatchDelayMs: undefined,
      initialWorkers: undefined,
      responseTimeout: undefined,
      startupTimeout: undefined,
      synchronous: false,
    });
    assert.equal(registerParamsOf({ ...register, url: '', handler: '', s3_sse_kms: false }).url, undefined, 'an empty url is no url: "Parameter url is required"');
    const negative = registerParamsOf({ ...register, handler: '', s3_sse_kms: false, initial_workers: -1, batch_size: -1, max_batch_delay: -100, response_timeout: -1, startup_timeout: -1 });
    assert.deepEqual(
      [negative.initialWorkers, negative.batchSize, negative.maxBatchDelayMs, negative.responseTimeout, negative.startupTimeout],
      [undefined, undefined, undefined, undefined, undefined],
      'TorchServe takes its default for any of them not above 0: startup_timeout=0 does not fail a registration over gRPC',
    );
    assert.equal(registerParamsOf({ ...register, handler: '', s3_sse_kms: false, startup_timeout: 30 }).startupTimeout, 30);
    assert.deepEqual(listParamsOf({ limit: 0, next_page_token: 3 }), { limit: undefined, nextPageToken: 3 });
    assert.deepEqual(listParamsOf({ limit: -1, next_page_token: -1 }), { limit: undefined, nextPageToken: undefined });
    const scale = { model_name: 'm', model_version: '', number_gpu: 0, timeout: 0 };
    assert.deepEqual(scaleParamsOf({ ...scale, min_worker: 0, max_worker: 2, synchronous: true }), { minWorker: undefined, maxWorker: 2, synchronous: true });
    assert.deepEqual(
      scaleParamsOf({ ...scale, min_worker: -1, max_worker: -1, synchronous: false }),
      { minWorker: undefined, maxWorker: undefined, synchronous: false },
      'a negative count is the default (1 worker), as TorchServe reads it over gRPC',
    );
  });

  it("answers a status as its sentence and anything else as TorchServe's pretty JSON", () => {
    assert.deepEqual(messageOf({ status: 200, body: { status: 'Model "m" unregistered' } }), { msg: 'Model "m" unregistered' });
    assert.deepEqual(messageOf({ status: 200, body: { models: [] } }), { msg: '{\n  "models": []\n}' });
    assert.deepEqual(messageOf({ status: 200, body: [{ status: 'READY', modelName: 'm' }] }).msg.startsWith('[\n'), true);
  });
});

describe('KServe ModelInfer inputs', () => {
  const request = (over: Partial<ModelInferRequest>): ModelInferRequest => ({
    model_name: 'm',
    model_version: '',
    id: '',
    parameters: {},
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], parameters: {}, contents: null }],
    outputs: [],
    raw_input_contents: [],
    ...over,
  });

  it('reads raw little-endian FP32 bytes, at any alignment', () => {
    const bytes = Buffer.alloc(9);
    bytes.writeFloatLE(1.5, 1);
    bytes.writeFloatLE(-2, 5);
    assert.deepEqual(Array.from(inputValues(request({ raw_input_contents: [bytes.subarray(1)] }), 0, 2)), [1.5, -2]);
  });

  it('reads typed fp32_contents', () => {
    const r = request({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], parameters: {}, contents: { fp32_contents: [0.25, 3] } }] });
    assert.deepEqual(Array.from(inputValues(r, 0, 2)), [0.25, 3]);
  });

  it('refuses contents whose size is not the shape, or raw contents that do not pair with the inputs', () => {
    assert.throws(() => inputValues(request({ raw_input_contents: [Buffer.alloc(4)] }), 0, 2), /holds 4 bytes.*needs 8/);
    assert.throws(() => inputValues(request({}), 0, 2), /0 values in contents\.fp32_contents/);
    assert.throws(() => inputValues(request({ raw_input_contents: [Buffer.alloc(8), Buffer.alloc(8)] }), 0, 2), /2 entries for 1 inputs/);
  });
});

describe("a request's deadline", () => {
  const model = (responseTimeout: number | null) => ({ name: 'm', config: { responseTimeout } }) as unknown as ModelVersion;

  it("is the client's gRPC deadline where that comes first, and says so", () => {
    const d = deadlineFor(model(null), 120_000, 250);
    assert.equal(d.setting, "the client's gRPC deadline");
    assert.ok(d.remainingMs() <= 250);
  });

  it("else the model's response_timeout, or the default", () => {
    assert.equal(deadlineFor(model(2), 120_000, 5000).setting, "response_timeout in m's config.json");
    assert.equal(deadlineFor(model(null), 120_000).setting, 'default_response_timeout');
  });
});
