// The gRPC listeners under hostile clients, through the real server (spawned, its log read) and
// real Chromium on WASM, token authorization on: HTTP/2 rapid reset and other frame floods,
// messages that never finish with and without a key, too many streams on a connection and too
// many connections from one address. After each, the server has let go of what the client took,
// says so in its log and metrics, and serves: grpc.health.v1 SERVING, the kitten classified.
// Every attacker connects from a loopback address of its own, so that the server counts it apart.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { bearer, callUnary, grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { connectFrom, PREDICTIONS, partialCall, rapidReset } from '../support/hostile-grpc.js';
import { readImage } from '../support/paths.js';
import { ERROR, FLAG, FRAME, frame, grpcHeaders, grpcPrefix, headerBlock, rawHttp2 } from '../support/raw-http2.js';
import { ANY_PORTS, type SpawnedServer, spawnServer } from '../support/spawned-server.js';
import { tempStore } from '../support/temp-store.js';

const TABBY = 'n02123045 tabby, tabby cat';
const HEALTH_CHECK = '/grpc.health.v1.Health/Check';
const MAX_REQUEST = 1_000_000;
const MAX_INFLIGHT = 3_000_000;
const PER_CLIENT = 8;
/**
 * Streams each rapid-reset client opens unless stopped: a hundred times the server's bound of 200,
 * so that the server, however late a busy machine lets it read, stops the client before its end.
 */
const RAPID_RESETS = 20_000;
/** Each test's bound: a server that let an attack through fails the test rather than hanging it. */
const BOUNDED = { timeout: 180_000 };

/** Resolves once `check` holds, polled; fails after a bound no busy machine reaches. */
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('gRPC under hostile clients', () => {
  // Asked to classify the kitten after each attack: one image a run (batches are not under test here).
  const store = tempStore([{ name: 'mobilenet_v2', from: 'mobilenet_v2', config: { batch_size: 1 } }]);
  const keyFile = path.join(store.root, 'key_file.json');
  let server: SpawnedServer;
  let inference: string;
  let management: string;
  let metricsUrl: string;
  let keys: { inference: string; management: string };
  let grpc: GrpcClients;

  /** A metric's value (`labels` as the text format spells them), 0 while it has none. */
  const metric = async (name: string, labels = ''): Promise<number> => {
    const res = await fetch(`${metricsUrl}/metrics?name[]=${name}`, { headers: { authorization: `Bearer ${keys.management}` } });
    const line = new RegExp(`^${name}${labels ? `\\{${labels.replace(/[{}]/g, '\\$&')}\\}` : ''} (\\S+)$`, 'm').exec(await res.text());
    return line ? Number(line[1]) : 0;
  };
  const connections = () => metric('grpc_server_connections', 'listener="inference"');
  const partialBytes = () => metric('grpc_server_partial_message_bytes');
  const logged = (re: RegExp) => until(() => re.test(server.output()), `the log shows ${re}`);
  const health = async () => (await callUnary(grpc.health, 'Check', { service: '' })).status as string;

  /** What every test ends with: the server serves as before the attack. */
  async function servesAsBefore(): Promise<void> {
    await until(async () => (await health()) === 'SERVING', 'grpc.health.v1 answers SERVING');
    const reply = await callUnary(grpc.torchserve, 'Predictions', { model_name: 'mobilenet_v2', input: { data: readImage('kitten.jpg') } }, bearer(keys.inference));
    assert.equal(JSON.parse(reply.prediction.toString())[0].class, TABBY);
  }

  before(async () => {
    server = await spawnServer(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', store.root, '--backend', 'wasm', ...ANY_PORTS], {
      TS_WASM_THREADS: '1',
      TS_ENABLE_TOKEN_AUTHORIZATION: 'true',
      TS_KEY_FILE: keyFile,
      TS_MAX_REQUEST_SIZE: String(MAX_REQUEST),
      TS_MAX_INFLIGHT_BYTES: String(MAX_INFLIGHT),
      TS_GRPC_MAX_CONNECTIONS_PER_CLIENT: String(PER_CLIENT),
      // Short, so that a connection HTTP/2 has stopped reading is found within the test.
      TS_GRPC_KEEPALIVE_TIME_MS: '2000',
      TS_GRPC_KEEPALIVE_TIMEOUT_MS: '10000',
    });
    const out = server.output();
    [, inference, management] = /gRPC inference \(TorchServe, KServe v2\) on ([\d.:]+), gRPC management on ([\d.:]+)/.exec(out)! as unknown as [string, string, string];
    metricsUrl = /metrics on (http:\/\/[\d.:]+)\/metrics/.exec(out)![1]!;
    const file = JSON.parse(readFileSync(keyFile, 'utf8'));
    keys = { inference: file.inference.key, management: file.management.key };
    grpc = grpcClients({ inference, management });
    await servesAsBefore();
  });
  after(async () => {
    grpc?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
    store.remove();
  });

  it('a rapid reset without a key gets GOAWAY (ENHANCE_YOUR_CALM) and is closed, logged once per connection, and the sockets are let go', BOUNDED, async () => {
    const before = await connections();
    const floods = [0, 1, 2].map(() => rapidReset(connectFrom(inference, '127.0.0.2'), PREDICTIONS, RAPID_RESETS));
    const ended = await Promise.all(floods);
    for (const e of ended) {
      assert.equal(e.goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, `the server's own bound, not nghttp2's, ended it (after ${e.opened} streams)`);
      assert.ok(e.opened < RAPID_RESETS, 'before the client was done');
    }
    const lines = () => server.output().match(/closed the connection from 127\.0\.0\.2:\d+: its client reset more than 200 streams before their answer/g) ?? [];
    await until(() => lines().length >= 3, 'a line logged for each connection');
    assert.equal(lines().length, 3, 'one line per connection, not one per stream');
    assert.ok((await metric('grpc_server_connections_closed_total', 'listener="inference",reason="stream_resets"')) >= 3);
    assert.ok((await metric('grpc_server_stream_resets_total', 'listener="inference"')) >= 600);
    await until(async () => (await connections()) === before, 'the server holds no connection of the flood');
    await servesAsBefore();
  });

  it('rapid resets paced by PINGs, three connections at once, each lose their connection and the server lives on', BOUNDED, async () => {
    // Each burst is read whole before the next: the server's bound is then reached inside
    // nghttp2's read of a frame, where ending the session at once aborted the process.
    const ended = await Promise.all([0, 1, 2].map(() => rapidReset(connectFrom(inference, '127.0.0.2'), PREDICTIONS, RAPID_RESETS, 'ping')));
    for (const e of ended) assert.equal(e.goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, `the server's own bound ended it (after ${e.opened} streams)`);
    assert.equal(server.child.exitCode, null);
    assert.equal(server.child.signalCode, null);
    await servesAsBefore();
  });

  it('a connection HTTP/2 stopped reading (resets of streams already answered, past nghttp2 bound) is closed, its client gone', BOUNDED, async () => {
    const before = await connections();
    const c = await rawHttp2(inference, '127.0.0.3');
    await until(async () => (await connections()) === before + 1, 'the connection is counted');
    const calls = 1100;
    const ids = Array.from({ length: calls }, (_, i) => 1 + 2 * i);
    for (let at = 0; at < calls; at += 100) {
      const batch = ids.slice(at, at + 100);
      c.write(Buffer.concat(batch.flatMap((id) => [frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(grpcHeaders(HEALTH_CHECK))), frame(FRAME.DATA, FLAG.END_STREAM, id, grpcPrefix(0))])));
      const last = batch[batch.length - 1]!;
      assert.ok(await c.next((f) => f.stream === last && (f.flags & FLAG.END_STREAM) !== 0), `call ${last} answered`);
    }
    c.write(Buffer.concat(ids.map((id) => frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, ERROR.CANCEL])))));
    assert.equal(await c.goaway, ERROR.INTERNAL_ERROR, "nghttp2's own bound: invisible to the server's, which counts what is reset before its answer");
    c.socket.end();
    await until(async () => (await connections()) === before, 'the connection is closed once its keepalive ping goes unanswered');
    await servesAsBefore();
  });

  it('large messages without a key are never read: each UNAUTHENTICATED at once, nothing held, and a client with the key served', BOUNDED, async () => {
    const refusedBefore = await metric(
      'grpc_server_handled_total',
      'grpc_type="unary",grpc_service="org.pytorch.serve.grpc.inference.InferenceAPIsService",grpc_method="Predictions",grpc_code="UNAUTHENTICATED"',
    );
    const session = connectFrom(inference, '127.0.0.4');
    const onManagement = connectFrom(management, '127.0.0.4');
    try {
      const calls = [
        ...Array.from({ length: 20 }, () => partialCall(session, PREDICTIONS, { declared: MAX_REQUEST - 1000, sent: 300_000 })),
        ...Array.from({ length: 5 }, () => partialCall(onManagement, '/org.pytorch.serve.grpc.management.ManagementAPIsService/RegisterModel', { declared: MAX_REQUEST - 1000, sent: 300_000 })),
      ];
      const unknown = Array.from({ length: 5 }, () => partialCall(session, '/no.such.Service/Method', { declared: MAX_REQUEST - 1000, sent: 300_000 }));
      for (const { status } of calls) {
        const s = await status;
        assert.equal(s.code, Code.UNAUTHENTICATED, s.message);
        assert.match(s.message, /Token Authorization failed/);
      }
      for (const { status } of unknown) assert.equal((await status).code, Code.UNIMPLEMENTED);
      assert.equal(await partialBytes(), 0, 'no byte of their messages is held');
      // Past the stream's HTTP/2 window only if the server drops what comes after its answer.
      await Promise.all([...calls, ...unknown].map((c) => c.taken));
      assert.equal(
        await metric('grpc_server_handled_total', 'grpc_type="unary",grpc_service="org.pytorch.serve.grpc.inference.InferenceAPIsService",grpc_method="Predictions",grpc_code="UNAUTHENTICATED"'),
        refusedBefore + 20,
      );
      await servesAsBefore();
    } finally {
      session.destroy();
      onManagement.destroy();
    }
  });

  it('messages still arriving with the key count against max_inflight_bytes: past it RESOURCE_EXHAUSTED, and the budget comes back when they go', BOUNDED, async () => {
    const session = connectFrom(inference, '127.0.0.5');
    try {
      const sent = 900_000;
      const open = [];
      for (let i = 1; i <= 3; i++) {
        open.push(partialCall(session, PREDICTIONS, { key: keys.inference, declared: MAX_REQUEST - 1000, sent }));
        await until(async () => (await partialBytes()) === i * (sent + 5), `${i} partial messages held`);
      }
      assert.equal(await health(), 'NOT_SERVING', 'no room for another request of max_request_size');
      const over = await partialCall(session, PREDICTIONS, { key: keys.inference, declared: MAX_REQUEST - 1000, sent }).status;
      assert.equal(over.code, Code.RESOURCE_EXHAUSTED);
      assert.match(over.message, /max_inflight_bytes 3000000/);
      assert.equal(await partialBytes(), 3 * (sent + 5), 'the refused one gave back what it held');
      for (const { stream } of open) stream.close(http2.constants.NGHTTP2_CANCEL);
      await until(async () => (await partialBytes()) === 0, 'the budget is back once the streams closed');
      await servesAsBefore();
    } finally {
      session.destroy();
    }
  });

  it('a connection holds 256 calls at once; a client opening more loses it, logged, and others are served meanwhile', BOUNDED, async () => {
    const c = await rawHttp2(inference, '127.0.0.6');
    const open = (from: number, n: number) =>
      c.write(
        Buffer.concat(Array.from({ length: n }, (_, i) => frame(FRAME.HEADERS, FLAG.END_HEADERS, from + 2 * i, headerBlock(grpcHeaders(PREDICTIONS, { authorization: `Bearer ${keys.inference}` }))))),
      );
    open(1, 256);
    // A ping answered after them: the server has read all 256, and holds them.
    c.write(frame(FRAME.PING, 0, 0, Buffer.from('allread!')));
    assert.ok(await c.next((f) => f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0 && f.payload.toString() === 'allread!'));
    assert.equal(
      c.frames.some((f) => f.type === FRAME.GOAWAY || f.type === FRAME.RST_STREAM),
      false,
    );
    assert.equal(await health(), 'SERVING', 'another connection is served meanwhile');
    open(1 + 2 * 256, 1);
    await c.closed;
    await logged(/closed the connection from 127\.0\.0\.6:\d+: /);
    await servesAsBefore();
  });

  it(`one address holds at most grpc_max_connections_per_client (${PER_CLIENT}) connections; others are taken meanwhile, and it is again once one goes`, BOUNDED, async () => {
    const held = await Promise.all(Array.from({ length: PER_CLIENT }, () => rawHttp2(inference, '127.0.0.7')));
    for (const c of held) assert.ok(await c.next((f) => f.type === FRAME.SETTINGS), 'taken: the server speaks HTTP/2 on it');
    const refused = await rawHttp2(inference, '127.0.0.7');
    await refused.closed;
    assert.deepEqual(refused.frames, [], 'closed at once, before a frame');
    await logged(/refusing new connections from 127\.0\.0\.7: it holds grpc_max_connections_per_client \(8\)/);
    assert.ok((await metric('grpc_server_connections_refused_total', 'listener="inference",reason="max_connections_per_client"')) >= 1);
    const other = await rawHttp2(inference, '127.0.0.8');
    assert.ok(await other.next((f) => f.type === FRAME.SETTINGS), 'another address is taken');
    other.close();
    held.pop()!.close();
    await logged(/taking connections from 127\.0\.0\.7 again, after refusing 1/);
    const again = await rawHttp2(inference, '127.0.0.7');
    assert.ok(await again.next((f) => f.type === FRAME.SETTINGS), 'taken again');
    for (const c of [...held, again]) c.close();
    await servesAsBefore();
  });

  it('floods of PING, SETTINGS, empty DATA and CONTINUATION frames each lose their connection, logged; WINDOW_UPDATE ones are harmless', BOUNDED, async () => {
    const floods: Array<[string, (id: number) => Buffer, RegExp]> = [
      ['PING', () => frame(FRAME.PING, 0, 0, Buffer.alloc(8)), /more than 100 PING and SETTINGS frames at once/],
      ['SETTINGS', () => frame(FRAME.SETTINGS, 0, 0), /more than 100 PING and SETTINGS frames at once/],
      ['empty DATA', (id) => frame(FRAME.DATA, 0, id), /Too many invalid HTTP\/2 frames/],
      ['CONTINUATION', (id) => frame(FRAME.CONTINUATION, 0, id, headerBlock({ 'x-filler': 'a' })), /CONTINUATION/],
    ];
    for (const [i, [name, make, why]] of floods.entries()) {
      const c = await rawHttp2(inference, `127.0.0.${10 + i}`);
      const id = 1;
      const start =
        name === 'empty DATA'
          ? [frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(grpcHeaders(HEALTH_CHECK)))]
          : name === 'CONTINUATION'
            ? [frame(FRAME.HEADERS, 0, id, headerBlock(grpcHeaders(HEALTH_CHECK)))]
            : [];
      c.write(Buffer.concat([...start, ...Array.from({ length: 5000 }, () => make(id))]));
      await c.closed;
      await logged(new RegExp(`closed the connection from 127\\.0\\.0\\.${10 + i}:\\d+: [^"]*${why.source}`));
    }
    const c = await rawHttp2(inference, '127.0.0.20');
    c.write(Buffer.concat(Array.from({ length: 5000 }, () => frame(FRAME.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 0, 1])))));
    c.write(frame(FRAME.PING, 0, 0, Buffer.from('stillok!')));
    assert.ok(await c.next((f) => f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0 && f.payload.toString() === 'stillok!'), 'the connection still answers');
    c.close();
    await servesAsBefore();
  });
});

describe('gRPC at max_connections', () => {
  it('a listener that holds max_connections refuses the next at once, logs when refusals start and end, and counts each', BOUNDED, async () => {
    const empty = tempStore([]);
    const server = await spawnServer(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/main.js'), '--model-store', empty.root, '--load-models', '', ...ANY_PORTS], {
      TS_MAX_CONNECTIONS: '4',
      TS_GRPC_MAX_CONNECTIONS_PER_CLIENT: '4',
    });
    try {
      const inference = /gRPC inference \(TorchServe, KServe v2\) on ([\d.:]+),/.exec(server.output())![1]!;
      const held = await Promise.all(Array.from({ length: 4 }, () => rawHttp2(inference, '127.0.0.30')));
      for (const c of held) assert.ok(await c.next((f) => f.type === FRAME.SETTINGS), 'taken');
      const refused = await Promise.all(Array.from({ length: 3 }, () => rawHttp2(inference, '127.0.0.31')));
      for (const c of refused) {
        await c.closed;
        assert.deepEqual(c.frames, [], 'closed at once, before a frame');
      }
      await until(() => /refusing new connections: it holds max_connections \(4\)/.test(server.output()), 'the start of refusals logged');
      assert.equal(server.output().match(/refusing new connections: it holds max_connections/g)?.length, 1, 'once, not once per connection');
      for (const c of held) c.close();
      await until(async () => {
        const again = await rawHttp2(inference, '127.0.0.32');
        const taken = (await again.next((f) => f.type === FRAME.SETTINGS)) !== null;
        again.close();
        return taken;
      }, 'a connection taken once the others went');
      await until(() => /taking connections again, after refusing \d+ at max_connections \(4\)/.test(server.output()), 'the end of refusals logged');
      const metrics = /metrics on (http:\/\/[\d.:]+)\/metrics/.exec(server.output())![1]!;
      const text = await (await fetch(`${metrics}/metrics?name[]=grpc_server_connections_refused_total`)).text();
      assert.ok(Number(/grpc_server_connections_refused_total\{listener="inference",reason="max_connections"\} (\d+)/.exec(text)?.[1]) >= 3, text);
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
      empty.remove();
    }
  });
});
