import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { Request, Response } from 'express';
import {
  ApiError,
  badRequest,
  errorHandler,
  fromBridgeError,
  imageTooLarge,
  internalError,
  methodNotAllowed,
  modelNotFound,
  payloadTooLarge,
  resourceNotFound,
  serviceUnavailable,
  timeout,
  versionNotFound,
} from '../../server/errors.js';
import { BridgeError, type BridgeErrorKind } from '../../server/page/bridge-error.js';
import { log } from '../../server/ops/log.js';

describe('ApiError', () => {
  it('is an Error with a status, a type, a message and no headers by default', () => {
    const e = new ApiError(418, 'TeapotException', 'short and stout');
    assert.ok(e instanceof Error);
    assert.equal(e.status, 418);
    assert.equal(e.type, 'TeapotException');
    assert.equal(e.message, 'short and stout');
    assert.deepEqual(e.headers, {});
  });

  it('toBody gives exactly {code, type, message}', () => {
    const body = new ApiError(400, 'BadRequestException', 'nope', { 'X-A': 'b' }).toBody();
    assert.deepEqual(body, { code: 400, type: 'BadRequestException', message: 'nope' });
    assert.deepEqual(Object.keys(body), ['code', 'type', 'message']);
    assert.equal(JSON.stringify(body), '{"code":400,"type":"BadRequestException","message":"nope"}');
  });
});

describe('error factories', () => {
  const cases: Array<[string, ApiError, number, string, string]> = [
    ['modelNotFound', modelNotFound('resnet-18'), 404, 'ModelNotFoundException', 'Model not found: resnet-18'],
    ['versionNotFound', versionNotFound('mobilenet_v2', '9.9'), 404, 'ModelVersionNotFoundException', 'Model version: 9.9 does not exist for model: mobilenet_v2'],
    ['resourceNotFound', resourceNotFound(), 404, 'ResourceNotFoundException', 'Requested resource is not found, please refer to API document.'],
    ['badRequest', badRequest('bad image'), 400, 'BadRequestException', 'bad image'],
    ['payloadTooLarge', payloadTooLarge(1000), 413, 'RequestEntityTooLargeException', 'Request body is larger than max_request_size (1000 bytes).'],
    ['imageTooLarge', imageTooLarge(8000, 6000, 40000000), 413, 'RequestEntityTooLargeException', 'The image is 8000x6000 pixels, more than max_image_pixels (40000000).'],
    ['serviceUnavailable', serviceUnavailable('down'), 503, 'ServiceUnavailableException', 'down'],
    ['timeout', timeout('late'), 504, 'RequestTimeoutException', 'late'],
    ['internalError', internalError(), 500, 'InternalServerException', 'Internal server error; the server log has the details.'],
  ];
  for (const [name, error, status, type, message] of cases) {
    it(`${name} has status ${status} and type ${type}`, () => {
      assert.ok(error instanceof ApiError);
      assert.deepEqual(error.toBody(), { code: status, type, message });
      assert.equal(error.status, status);
    });
  }

  it('modelNotFound gives the TorchServe body for resnet-18', () => {
    assert.deepEqual(modelNotFound('resnet-18').toBody(), { code: 404, type: 'ModelNotFoundException', message: 'Model not found: resnet-18' });
  });

  it('methodNotAllowed is a 405 with an Allow header listing the methods', () => {
    const e = methodNotAllowed(['GET', 'POST']);
    assert.equal(e.status, 405);
    assert.equal(e.type, 'MethodNotAllowedException');
    assert.equal(e.message, 'Requested method is not allowed, please refer to API document.');
    assert.deepEqual(e.headers, { Allow: 'GET, POST' });
    assert.deepEqual(methodNotAllowed(['OPTIONS']).headers, { Allow: 'OPTIONS' });
  });

  it('only methodNotAllowed sets headers', () => {
    for (const [name, error] of cases) assert.deepEqual(error.headers, {}, name);
  });
});

describe('fromBridgeError', () => {
  it('maps closed and crashed to 503 ServiceUnavailableException', () => {
    for (const kind of ['closed', 'crashed'] as const) {
      const e = fromBridgeError(new BridgeError(kind, 'the browser exited', 'Protocol error (Runtime.evaluate): Target closed at /usr/lib/chromium/x.so'));
      assert.equal(e.status, 503, kind);
      assert.equal(e.type, 'ServiceUnavailableException', kind);
      assert.equal(e.message, 'The model is unavailable: the browser exited.', 'what Chromium said stays in the log');
    }
  });

  it('maps timeout to 504 RequestTimeoutException', () => {
    const e = fromBridgeError(new BridgeError('timeout', 'inference took longer than 120 s (raise default_response_timeout to allow more)'));
    assert.equal(e.status, 504);
    assert.equal(e.type, 'RequestTimeoutException');
    assert.equal(e.message, 'The prediction timed out: inference took longer than 120 s (raise default_response_timeout to allow more).');
  });

  it('maps input, model and runtime to a 500 that carries no internals', () => {
    const secret = 'ORT failed at /home/build/onnxruntime/core/session.cc:1234 with tensor "input" of dims [1,3,224,224]';
    for (const kind of ['input', 'model', 'runtime'] as const satisfies readonly BridgeErrorKind[]) {
      const e = fromBridgeError(new BridgeError(kind, secret));
      assert.equal(e.status, 500, kind);
      assert.equal(e.type, 'InternalServerException', kind);
      assert.equal(e.message, 'The model failed to run; the server log has the details.');
      const body = JSON.stringify(e.toBody());
      for (const leak of ['/home', 'session.cc', 'ORT failed', '1234', 'dims']) assert.ok(!body.includes(leak), `${kind}: body leaks ${leak}`);
      assert.deepEqual(e.headers, {});
    }
  });
});

describe('errorHandler', () => {
  afterEach(() => mock.restoreAll());

  /** What errorHandler answers for `err`, and what it logged at warn level. */
  function answer(err: unknown): { status: number; body: unknown; warned: string[] } {
    const warn = mock.method(log, 'warn', () => {});
    const sent = { status: 0, body: undefined as unknown };
    const res = {
      headersSent: false,
      status(code: number) {
        sent.status = code;
        return this;
      },
      set() {
        return this;
      },
      json(body: unknown) {
        sent.body = body;
        return this;
      },
    };
    errorHandler(err, { method: 'GET', path: '/demo/models/m/1.0/model.onnx', originalUrl: '/demo/models/m/1.0/model.onnx' } as Request, res as unknown as Response, () => {});
    return { ...sent, warned: warn.mock.calls.map((c) => String(c.arguments[0])) };
  }
  const withStatus = (status: number, message: string) => Object.assign(new Error(message), { status, statusCode: status });

  it("answers a library's 4xx with a fixed message for its status, never the error's own, and logs the original", () => {
    const cases: Array<[Error, { code: number; type: string; message: string }]> = [
      [Object.assign(withStatus(404, "ENOENT: no such file or directory, stat '/srv/store/m/1.0/model.onnx'"), { code: 'ENOENT' }), resourceNotFound().toBody()],
      [withStatus(413, 'request entity too large (limit /srv/x)'), { code: 413, type: 'RequestEntityTooLargeException', message: 'Request body is too large, please refer to API document.' }],
      [withStatus(400, "Failed to decode param '%E0%A4%A'"), { code: 400, type: 'BadRequestException', message: 'Bad request, please refer to API document.' }],
      [withStatus(403, 'Forbidden: /srv/store/../etc'), { code: 403, type: 'BadRequestException', message: 'Bad request, please refer to API document.' }],
    ];
    for (const [err, body] of cases) {
      const a = answer(err);
      assert.equal(a.status, body.code, err.message);
      assert.deepEqual(a.body, body, err.message);
      assert.equal(a.warned.length, 1);
      assert.ok(a.warned[0]!.includes(err.message), a.warned[0]);
      mock.restoreAll();
    }
  });

  it('answers its own errors as they say, and anything else as a plain 500', () => {
    const logged = mock.method(log, 'error', () => {});
    assert.deepEqual(answer(badRequest('bad image')).body, badRequest('bad image').toBody());
    assert.deepEqual(answer(withStatus(502, 'upstream at /srv')).body, internalError().toBody());
    assert.deepEqual(answer(new Error('at /srv/x.js:1')).body, internalError().toBody());
    assert.equal(logged.mock.callCount(), 2);
  });
});
