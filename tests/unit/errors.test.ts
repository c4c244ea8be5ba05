import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiError,
  badRequest,
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
import { BridgeError, type BridgeErrorKind } from '../../server/bridge/bridge-error.js';

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
      const e = fromBridgeError(new BridgeError(kind, 'the browser exited'));
      assert.equal(e.status, 503, kind);
      assert.equal(e.type, 'ServiceUnavailableException', kind);
      assert.equal(e.message, 'The model is unavailable: the browser exited.');
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
