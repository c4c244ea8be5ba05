// KServe v2 / Open Inference Protocol over gRPC (`inference.GRPCInferenceService`), as Triton's
// and KServe's clients send it: health, metadata, and ModelInfer with an already preprocessed FP32
// tensor, typed (`contents.fp32_contents`) or raw (`raw_input_contents`). Raw in, raw out
// (`raw_output_contents`); typed in, typed out. The same checks as POST /v2/models/{m}/infer
// (kserve-v2.ts), and the same tensor pipeline (server/pipeline/infer-tensor.ts).

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ApiError, badRequest } from '../errors.js';
import { inferTensor } from '../pipeline/infer-tensor.js';
import { checkInput, modelInput, modelMetadata } from '../kserve/kserve-v2.js';
import type { ModelVersion } from '../store/model-store.js';
import { type CallEnv, type CallInfo, type Served, unary } from './calls.js';
import { type ModelInferRequest, type ModelInferResponse, type NameVersion, SERVICE_NAMES } from './definitions.js';
import type { GrpcInferenceDeps } from './torchserve-inference.js';
import { overGrpc, servedOverGrpc } from './inference-call.js';

const SERVICE = SERVICE_NAMES.kserve;

/** The input's values as float32: from its raw bytes when the request is raw, else its fp32_contents. */
export function inputValues(request: ModelInferRequest, index: number, count: number): Float32Array {
  const input = request.inputs[index]!;
  if (request.raw_input_contents.length > 0) {
    if (request.raw_input_contents.length !== request.inputs.length) throw badRequest(`raw_input_contents has ${request.raw_input_contents.length} entries for ${request.inputs.length} inputs`);
    const raw = request.raw_input_contents[index]!;
    if (raw.length !== count * 4) throw badRequest(`raw_input_contents[${index}] holds ${raw.length} bytes; input "${input.name}" of shape [${input.shape}] in FP32 needs ${count * 4}`);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(raw);
    return data;
  }
  const values = input.contents?.fp32_contents ?? [];
  if (values.length !== count) throw badRequest(`input "${input.name}" has ${values.length} values in contents.fp32_contents; its shape [${input.shape}] needs ${count} (or send raw_input_contents)`);
  const data = Float32Array.from(values);
  return data;
}

export function kserveInferenceService(env: CallEnv, deps: GrpcInferenceDeps & { version: string }): UntypedServiceImplementation {
  const { store, engine, guards } = deps;
  const target = (name: string, version: string): ModelVersion => {
    if (!name) throw badRequest('the request names no model');
    return store.resolve(name, version || undefined);
  };

  const pipeline = { engine, guards, metrics: env.metrics };

  const infer = async (request: ModelInferRequest, info: CallInfo): Promise<Served<ModelInferResponse>> => {
    const t0 = performance.now();
    const v = target(request.model_name, request.model_version);
    if (request.inputs.length === 0) throw badRequest('the request has no "inputs"');
    const { input, index } = modelInput(v, request.inputs);
    const count = checkInput(v, input);
    const raw = request.raw_input_contents.length > 0;
    // Checked against the message before admission: a shape the contents do not fill is the
    // client's error, not a lack of room. Its values are already in memory, within max_request_size.
    const tensor = { data: inputValues(request, index, count), dims: input.shape };
    const served = await overGrpc(info, t0, tensor.data.byteLength, (call) =>
      inferTensor(pipeline, call, {
        model: v,
        read: async (ticket) => {
          ticket.hold(2 * tensor.data.byteLength); // the message's copy and the tensor's
          return tensor;
        },
        parse: (tensor) => ({ tensor }),
        answer: (out): ModelInferResponse => {
          const output = { name: v.config.outputName, datatype: 'FP32', shape: out.dims };
          return raw
            ? { model_name: v.name, model_version: v.version, id: request.id, outputs: [output], raw_output_contents: [Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength)] }
            : { model_name: v.name, model_version: v.version, id: request.id, outputs: [{ ...output, contents: { fp32_contents: Array.from(out.data) } }], raw_output_contents: [] };
        },
      }),
    );
    return servedOverGrpc(served, served.answer);
  };

  // Loading and unloading belong to the management API (HTTP 8081, gRPC 7071), behind its own key.
  const repository = (method: string) =>
    unary(env, {
      service: SERVICE,
      method,
      work: () => {
        throw new ApiError(501, 'UnimplementedException', `${method} is not served here: register and unregister models through the Management API (HTTP or gRPC).`);
      },
    });

  return {
    ServerLive: unary(env, { service: SERVICE, method: 'ServerLive', work: () => ({ reply: { live: true } }) }),
    ServerReady: unary(env, { service: SERVICE, method: 'ServerReady', work: () => ({ reply: { ready: deps.isHealthy() } }) }),
    ModelReady: unary<NameVersion, { ready: boolean }>(env, {
      service: SERVICE,
      method: 'ModelReady',
      work: (r) => ({ reply: { ready: engine.status(target(r.name, r.version))?.state === 'ready' } }),
    }),
    ServerMetadata: unary(env, { service: SERVICE, method: 'ServerMetadata', work: () => ({ reply: { name: 'webgpu-inference-server', version: deps.version, extensions: [] } }) }),
    ModelMetadata: unary<NameVersion, ReturnType<typeof modelMetadata>>(env, { service: SERVICE, method: 'ModelMetadata', work: (r) => ({ reply: modelMetadata(store, target(r.name, r.version)) }) }),
    ModelInfer: unary<ModelInferRequest, ModelInferResponse>(env, { service: SERVICE, method: 'ModelInfer', work: infer }),
    RepositoryModelLoad: repository('RepositoryModelLoad'),
    RepositoryModelUnload: repository('RepositoryModelUnload'),
  };
}
