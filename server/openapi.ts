// OpenAPI 3.0.1 descriptions of the routes each listener actually serves. Built from the same
// constants the routers use, so a route cannot be served without being described.

import { RANGES } from './limits.js';

const errorBody = {
  type: 'object',
  required: ['code', 'type', 'message'],
  properties: {
    code: { type: 'integer', description: 'HTTP status' },
    type: { type: 'string', description: 'TorchServe error type, e.g. ModelNotFoundException' },
    message: { type: 'string' },
  },
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

const describeOperation = (summary: string) => ({
  options: {
    operationId: 'apiDescription',
    summary,
    responses: { '200': { description: 'This document', content: { 'application/json': { schema: { type: 'object' } } } } },
  },
});

const modelName = { name: 'model_name', in: 'path', required: true, schema: { type: 'string' }, description: 'Name of the model in the store' };
const modelVersion = { name: 'model_version', in: 'path', required: true, schema: { type: 'string' }, description: 'Version folder name, e.g. 1.0' };

function predictionOperation(id: string, withVersion: boolean) {
  return {
    operationId: id,
    summary: withVersion ? 'Classify an image with one version of a model' : "Classify an image with a model's default version",
    parameters: [
      modelName,
      ...(withVersion ? [modelVersion] : []),
      { name: 'topk', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 }, description: 'How many classes to answer (default: the model config, 5)' },
    ],
    requestBody: {
      required: true,
      description: 'The image: the raw body (JPEG, PNG, WebP, GIF, TIFF, AVIF), or a multipart form whose "data" (or "body", or first) file holds it',
      content: {
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'image/*': { schema: { type: 'string', format: 'binary' } },
        'multipart/form-data': { schema: { type: 'object', properties: { data: { type: 'string', format: 'binary' } } } },
      },
    },
    responses: {
      '200': {
        description: 'The top classes, highest probability first',
        headers: {
          'Server-Timing': { description: 'read, decode, queue, transfer, infer, post and total durations in ms', schema: { type: 'string' } },
          'X-Batch-Size': { description: 'How many requests shared the model run', schema: { type: 'integer' } },
        },
        content: {
          'application/json': {
            schema: {
              oneOf: [
                {
                  type: 'array',
                  description: 'output_format "classes" (default)',
                  items: { type: 'object', required: ['class', 'probability'], properties: { class: { type: 'string' }, probability: { type: 'number' } } },
                },
                { type: 'object', description: 'output_format "torchserve": label to probability', additionalProperties: { type: 'number' } },
              ],
            },
          },
        },
      },
      '400': errorResponse('Empty, unsupported or undecodable image, or a bad topk'),
      '404': errorResponse('Unknown model (ModelNotFoundException) or version (ModelVersionNotFoundException)'),
      '413': errorResponse('Body larger than max_request_size, or image larger than max_image_pixels'),
      '503': errorResponse('The model queue is full (with Retry-After), or the model is not ready, or its browser page is gone'),
      '504': errorResponse('No answer within default_response_timeout'),
    },
  };
}

const predictions = (id: string, withVersion: boolean) => ({ post: predictionOperation(`${id}Post`, withVersion), put: predictionOperation(`${id}Put`, withVersion) });

const healthSchema = {
  type: 'object',
  properties: { health: { type: 'string', enum: ['healthy!', 'unhealthy!'] }, status: { type: 'string', enum: ['Healthy', 'Unhealthy'] } },
};

const v2Json = (description: string, schema: object = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const v2Error = (description: string) => v2Json(description, { type: 'object', properties: { error: { type: 'string' } } });
const v2Version = { name: 'model_version', in: 'path', required: true, schema: { type: 'string' } };
const v2Model = { name: 'model_name', in: 'path', required: true, schema: { type: 'string' } };

function v2Paths(): Record<string, object> {
  const metadata = (id: string, params: object[]) => ({
    get: { operationId: id, summary: 'KServe v2 model metadata (-1 for variable dimensions)', parameters: params, responses: { '200': v2Json('Metadata'), '404': v2Error('Unknown model or version') } },
  });
  const ready = (id: string, params: object[]) => ({
    get: { operationId: id, summary: 'KServe v2 model readiness', parameters: params, responses: { '200': v2Json('Ready'), '503': v2Json('Not ready'), '404': v2Error('Unknown model or version') } },
  });
  const infer = (id: string, params: object[]) => ({
    post: {
      operationId: id,
      summary: 'KServe v2 inference: an already preprocessed FP32 tensor; JSON, or the binary tensor data extension',
      parameters: [...params, { name: 'Inference-Header-Content-Length', in: 'header', required: false, schema: { type: 'integer' }, description: 'Length of the JSON header before binary tensor data' }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      responses: { '200': { description: 'Raw model output, JSON or binary', content: { 'application/json': { schema: { type: 'object' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, '400': v2Error('Bad request'), '404': v2Error('Unknown model or version') },
    },
  });
  return {
    '/v2': { get: { operationId: 'v2Server', summary: 'KServe v2 server metadata', responses: { '200': v2Json('Name, version and extensions') } } },
    '/v2/health/live': { get: { operationId: 'v2Live', summary: 'KServe v2 liveness', responses: { '200': v2Json('Live') } } },
    '/v2/health/ready': { get: { operationId: 'v2Ready', summary: 'KServe v2 readiness: every model loaded and warm', responses: { '200': v2Json('Ready'), '503': v2Json('Not ready') } } },
    '/v2/models/{model_name}': metadata('v2ModelMetadata', [v2Model]),
    '/v2/models/{model_name}/versions/{model_version}': metadata('v2ModelVersionMetadata', [v2Model, v2Version]),
    '/v2/models/{model_name}/ready': ready('v2ModelReady', [v2Model]),
    '/v2/models/{model_name}/versions/{model_version}/ready': ready('v2ModelVersionReady', [v2Model, v2Version]),
    '/v2/models/{model_name}/infer': infer('v2Infer', [v2Model]),
    '/v2/models/{model_name}/versions/{model_version}/infer': infer('v2VersionInfer', [v2Model, v2Version]),
  };
}

export function inferenceApiDescription(version: string): object {
  return {
    openapi: '3.0.1',
    info: { title: 'Inference API', description: 'TorchServe-compatible Inference API, models run by onnxruntime-web in headless Chromium', version },
    paths: {
      '/': describeOperation('OpenAPI description of the Inference API'),
      '/api-description': {
        get: {
          operationId: 'apiDescriptionGet',
          summary: 'OpenAPI description of the Inference API',
          responses: { '200': { description: 'This document', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/ping': {
        get: {
          operationId: 'ping',
          summary: 'Health of the browser and every model',
          responses: {
            '200': { description: 'Healthy', content: { 'application/json': { schema: healthSchema } } },
            '500': { description: 'Unhealthy', content: { 'application/json': { schema: healthSchema } } },
          },
        },
      },
      '/predictions/{model_name}': predictions('predictions', false),
      '/predictions/{model_name}/{model_version}': predictions('versionPredictions', true),
      ...v2Paths(),
    },
    components: { schemas: { Error: errorBody } },
  };
}

const describeResponse = {
  '200': { description: 'Model description', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/ModelDescription' } } } } },
  '404': errorResponse('Unknown model or version'),
};

const statusResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string' } } } } },
});
const query = (name: string, description: string, type = 'string', range: { minimum?: number; maximum?: number } = {}) => ({ name, in: 'query', required: false, schema: { type, ...range }, description });
const pages = 'every model version\'s workers together at most the server\'s max_workers (400 past it)';
const managementErrors = {
  '400': errorResponse('Bad parameters, a remote URL, or a path outside the model store'),
  '404': errorResponse('Unknown model or version'),
  '409': errorResponse('Already registered, or the default version while others remain'),
};
const scaleOperation = (id: string, params: object[]) => ({
  operationId: id,
  summary: 'Set the number of workers (pages)',
  parameters: [...params, query('min_worker', `Workers to run; ${pages}`, 'integer', { minimum: 1 }), query('max_worker', `Used when min_worker is absent; not less than min_worker; ${pages}`, 'integer', { minimum: 1 }), query('synchronous', 'true: answer when the workers are ready')],
  responses: { '200': statusResponse('Scaled'), '202': statusResponse('Scaling'), ...managementErrors },
});
const unregisterOperation = (id: string, params: object[]) => ({
  operationId: id,
  summary: 'Unregister a version (the default when none is named); in-flight requests finish first',
  parameters: params,
  responses: { '200': statusResponse('Unregistered'), ...managementErrors },
});

export function managementApiDescription(version: string): object {
  return {
    openapi: '3.0.1',
    info: { title: 'Management API', description: 'TorchServe-compatible model listing and description', version },
    paths: {
      '/': describeOperation('OpenAPI description of the Management API'),
      '/models': {
        post: {
          operationId: 'registerModel',
          summary: 'Register a model folder of the model store (never a remote URL)',
          parameters: [
            { name: 'url', in: 'query', required: true, schema: { type: 'string' }, description: 'A model folder of the store' },
            query('model_name', 'Must match the folder name'),
            query('batch_size', 'Largest batch', 'integer', { minimum: RANGES.batchSize.min, maximum: RANGES.batchSize.max }),
            query('max_batch_delay', 'ms to wait for a batch to fill', 'number', { minimum: RANGES.maxBatchDelayMs.min, maximum: RANGES.maxBatchDelayMs.max }),
            query('initial_workers', `Workers to start for each version; ${pages}`, 'integer', { minimum: 1 }),
            query('synchronous', 'true: answer when the workers are ready'),
          ],
          responses: { '200': statusResponse('Registered'), '202': statusResponse('Registered, workers loading'), ...managementErrors },
        },
        get: {
          operationId: 'listModels',
          summary: 'The models in the store',
          parameters: [query('limit', 'Page size (default 100)', 'integer'), query('next_page_token', 'From a previous page')],
          responses: {
            '200': {
              description: 'Model list',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { models: { type: 'array', items: { type: 'object', properties: { modelName: { type: 'string' }, modelUrl: { type: 'string' } } } } },
                  },
                },
              },
            },
          },
        },
      },
      '/models/{model_name}': {
        get: { operationId: 'describeModel', summary: "Describe a model's default version", parameters: [modelName], responses: describeResponse },
        put: scaleOperation('scaleModel', [modelName]),
        delete: unregisterOperation('unregisterModel', [modelName]),
      },
      '/models/{model_name}/{model_version}': {
        get: { operationId: 'describeModelVersion', summary: 'Describe one version, or every version with "all"', parameters: [modelName, modelVersion], responses: describeResponse },
        put: scaleOperation('scaleModelVersion', [modelName, modelVersion]),
        delete: unregisterOperation('unregisterModelVersion', [modelName, modelVersion]),
      },
      '/models/{model_name}/{model_version}/set-default': {
        put: { operationId: 'setDefaultVersion', summary: 'Make this version the default', parameters: [modelName, modelVersion], responses: { '200': statusResponse('Updated'), ...managementErrors } },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (served on the metrics port, 8082 by default)',
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      schemas: {
        Error: errorBody,
        ModelDescription: {
          type: 'object',
          properties: {
            modelName: { type: 'string' },
            modelVersion: { type: 'string' },
            modelUrl: { type: 'string' },
            runtime: { type: 'string' },
            isDefault: { type: 'boolean' },
            status: { type: 'string' },
            backend: { type: 'string', description: 'webgpu or wasm: where the model runs' },
            adapter: { type: 'object', nullable: true, description: 'The WebGPU adapter the page got' },
            fallbackReason: { type: 'string', nullable: true, description: 'Why the model does not run on WebGPU' },
            parity: { type: 'object', nullable: true, description: 'The WebGPU-vs-WASM check made at load' },
          },
        },
      },
    },
  };
}
