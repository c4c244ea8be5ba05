// For test.sh: calls the container's gRPC inference listener as a client would, with clients
// built from protos/: grpc.health.v1 Check, then the kitten through TorchServe's Predictions with
// the key. Prints "<health status> <top class>"; exits 1 on any failure.
//   node dist/scripts/image/grpc-probe.js HOST:PORT KEY IMAGE

import { readFileSync } from 'node:fs';
import { bearer, callUnary, grpcClients } from '../../tests/support/grpc-client.js';

const [address, key, image] = process.argv.slice(2);
if (!address || !key || !image) {
  console.error('usage: grpc-probe.js HOST:PORT KEY IMAGE');
  process.exit(2);
}
const clients = grpcClients({ inference: address, management: address });
try {
  const deadline = Date.now() + 30_000;
  const health = await callUnary(clients.health, 'Check', { service: '' }, undefined, { deadline });
  const reply = await callUnary(clients.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: readFileSync(image) } }, bearer(key), { deadline });
  console.log(`${health.status} ${JSON.parse(reply.prediction.toString())[0].class}`);
} catch (e) {
  console.error(`gRPC: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  clients.close();
}
