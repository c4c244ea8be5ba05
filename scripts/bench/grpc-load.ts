// The gRPC load generator: `concurrency` callers on one channel (one HTTP/2 connection, as a gRPC
// client uses), each sending TorchServe's Predictions with the image in input["data"] again as
// soon as its answer is in, for `durationS`. Reads the same Server-Timing, from the trailers.

import { type Client, credentials, type Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { clientConstructors } from '../../server/grpc/definitions.js';
import type { LoadResult } from './server-load.js';
import { StageCollector } from './server-timing.js';

type Predictions = Client & {
  Predictions(request: object, callback: (err: ServiceError | null) => void): NodeJS.EventEmitter;
};

export async function grpcLoad(address: string, model: string, concurrency: number, durationS: number, body: Buffer): Promise<LoadResult> {
  const client = new (clientConstructors().torchserveInference)(address, credentials.createInsecure()) as Predictions;
  const stages = new StageCollector();
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const request = { model_name: model, input: { data: body } };
  const t0 = performance.now();
  const end = t0 + durationS * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const call = client.Predictions(request, (err) => {
        if (err) failed++;
        else {
          ok++;
          latencies.push(performance.now() - start);
        }
      });
      // The trailers come with the status, after the answer's callback.
      call.on('status', (s: StatusObject) => {
        const [v] = (s.metadata as Metadata).get('server-timing');
        if (s.code === 0) stages.add(typeof v === 'string' ? v : null);
        resolve();
      });
    });
  const caller = async () => {
    while (performance.now() < end) await one();
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedS = (performance.now() - t0) / 1000;
  client.close();
  return { ok, imagesPerS: ok / elapsedS, latencies, failed, stages };
}
