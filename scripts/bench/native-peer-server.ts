// The native peer: the server a Node user writes in an afternoon instead of this one. node:http,
// the same decode, cut and normalisation as the server (native-peer-model.ts), onnxruntime-node on
// the CPU, one request one session.run, no batching, no admission, no decode processes. The bench
// (peer-load.ts) starts it as its own process, so that its CPU is its own in /proc, and loads it
// as it loads the server: GET /ping, POST /predictions/<model> with the image as the body.
//
//   node dist/scripts/bench/native-peer-server.js --port P --threads N <model folder>...
//
// Prints `native peer listening on http://127.0.0.1:<port>` once every model is loaded.

import http from 'node:http';
import { SETTINGS } from '../../server/config/settings.js';
import { ApiError, modelNotFound, payloadTooLarge } from '../../server/errors.js';
import { parsePeerArgs } from './native-peer-args.js';
import { loadPeerModel, type PeerModel } from './native-peer-model.js';

const MAX_BODY = Number(SETTINGS.max_request_size.default);

const args = parsePeerArgs(process.argv.slice(2));
const models = new Map<string, PeerModel>();
for (const dir of args.models) {
  const model = await loadPeerModel(dir, args.threads);
  models.set(model.name, model);
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(payloadTooLarge(MAX_BODY));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://peer');
  if (req.method === 'GET' && url.pathname === '/ping') return send(res, 200, '{"status":"Healthy"}');
  const route = /^\/predictions\/([^/]+)$/.exec(url.pathname);
  if (req.method !== 'POST' || !route) throw new ApiError(404, 'ResourceNotFoundException', `Requested resource is not found: ${req.method} ${url.pathname}`);
  const name = decodeURIComponent(route[1]!);
  const model = models.get(name);
  if (!model) throw modelNotFound(name);
  send(res, 200, await model.answer(await readBody(req)));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e: unknown) => {
    if (res.headersSent) return;
    if (e instanceof ApiError) return send(res, e.status, JSON.stringify(e.toBody()));
    console.error(e);
    send(res, 500, JSON.stringify({ code: 500, type: 'InternalServerException', message: 'Prediction failed' }));
  });
});
server.listen(args.port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`native peer listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : args.port}`);
});
// The bench stops it with SIGTERM.
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.all([...models.values()].map((m) => m.release())).then(() => process.exit(0));
});
