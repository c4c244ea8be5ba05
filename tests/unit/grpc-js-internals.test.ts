// What this server reads inside grpc-js (server/grpc/grpc-js-internals.ts), and what it relies on
// grpc-js doing: a grpc-js upgrade that moves either fails here, not under a hostile client.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { credentials, Server, ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { http2StreamOf, injectorWithHttp2 } from '../../server/grpc/grpc-js-internals.js';
import { callUnary, grpcClients } from '../support/grpc-client.js';

/** A Server with the health service behind an injector on a loopback port. */
async function serve(interceptors: ServerInterceptor[] = []) {
  const server = new Server({ interceptors });
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const { injector, http2 } = injectorWithHttp2(server, ServerCredentials.createInsecure());
  const sessions: ServerHttp2Session[] = [];
  http2.on('session', (s) => sessions.push(s));
  const tcp = net.createServer((socket) => injector.injectConnection(socket));
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const target = `127.0.0.1:${(tcp.address() as net.AddressInfo).port}`;
  return {
    target,
    sessions,
    close: () => {
      tcp.close();
      injector.destroy();
      server.forceShutdown();
    },
  };
}

describe('grpc-js internals', () => {
  it("finds the injector's HTTP/2 server: its sessions are those of the injected connections", async () => {
    const s = await serve();
    const clients = grpcClients({ inference: s.target, management: s.target }, credentials.createInsecure());
    try {
      assert.deepEqual(await callUnary(clients.health, 'Check', { service: '' }), { status: 'SERVING' });
      assert.equal(s.sessions.length, 1);
      assert.equal(typeof s.sessions[0]!.goaway, 'function');
    } finally {
      clients.close();
      s.close();
    }
  });

  it("gives an interceptor first in line the call's HTTP/2 stream, paused until the handler asks for a message", async () => {
    const seen: Array<{ stream: ServerHttp2Stream | null; flowing: boolean | null }> = [];
    const s = await serve([
      (_method, call) => {
        const stream = http2StreamOf(call);
        seen.push({ stream, flowing: stream?.readableFlowing ?? null });
        return call as never;
      },
    ]);
    const clients = grpcClients({ inference: s.target, management: s.target }, credentials.createInsecure());
    try {
      await callUnary(clients.health, 'Check', { service: '' });
      assert.equal(seen.length, 1);
      assert.ok(seen[0]!.stream, 'the stream was found');
      assert.equal(typeof seen[0]!.stream.respond, 'function');
      assert.equal(seen[0]!.flowing, false, 'grpc-js pauses the stream before the call starts: nothing is read before the key is checked');
    } finally {
      clients.close();
      s.close();
    }
  });

  it('says where grpc-js moved what it reads, instead of guarding nothing', () => {
    const server = new Server();
    (server as unknown as { http2Servers: unknown }).http2Servers = undefined;
    assert.throws(() => injectorWithHttp2(server, ServerCredentials.createInsecure()), /no longer has its map of HTTP\/2 servers/);
    assert.equal(http2StreamOf({} as never), null);
  });
});
