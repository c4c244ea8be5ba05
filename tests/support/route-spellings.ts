// Every spelling of every protected route, sent without a key and with one: what a lax router
// or a string check on the path would let through. Used against the fake engine and the real
// server alike.

import { pathSpellings } from '../../scripts/hostile/inputs.js';
import { call } from './server-harness.js';

export interface ProtectedRoute {
  base: string;
  method: string;
  /** Path, and a query to send with every spelling of it. */
  target: string;
  key: string;
}

/** The routes a server with token authorization must guard, on its three listeners. */
export function protectedRoutes(urls: { inference: string; management: string; metrics: string }, keys: { inference: string; management: string }): ProtectedRoute[] {
  const i = (method: string, target: string) => ({ base: urls.inference, method, target, key: keys.inference });
  const m = (method: string, target: string, base = urls.management) => ({ base, method, target, key: keys.management });
  return [
    i('GET', '/demo/models'),
    i('GET', '/demo/models/mobilenet_v2/1.0/model.onnx'),
    i('GET', '/demo/models/mobilenet_v2/1.0/labels.json'),
    i('POST', '/predictions/mobilenet_v2'),
    i('POST', '/predictions/mobilenet_v2/1.0'),
    i('GET', '/v2'),
    i('GET', '/v2/models/mobilenet_v2'),
    i('POST', '/v2/models/mobilenet_v2/infer'),
    m('GET', '/models'),
    m('GET', '/models/mobilenet_v2'),
    m('PUT', '/models/mobilenet_v2?min_worker=1'),
    m('GET', '/metrics', urls.metrics),
  ];
}

/** What got through: each line a spelling that was not refused (401) without its key, or that named the route with it. */
export async function routeLeaks(routes: ProtectedRoute[], body: Uint8Array): Promise<string[]> {
  const leaks: string[] = [];
  for (const { base, method, target, key } of routes) {
    const [route, query = ''] = target.split('?') as [string, string?];
    const send = (p: string, withKey: boolean) =>
      call(`${base}${p}${query ? `?${query}` : ''}`, { method, body: method === 'GET' ? undefined : (body as Uint8Array<ArrayBuffer>), headers: withKey ? { authorization: `Bearer ${key}` } : {} });
    const reached = await send(route, true);
    if ([401, 404].includes(reached.status)) leaks.push(`${method} ${route} with its key did not reach the route: ${reached.status}`);
    for (const spelling of [route, ...pathSpellings(route)]) {
      const r = await send(spelling, false);
      if (r.status !== 401) leaks.push(`${method} ${spelling} without a key: ${r.status} ${JSON.stringify(r.body).slice(0, 80)}`);
      // With the key, only the exact spelling reaches the route (URL parsing itself resolves
      // dot segments, which gives the route's own path).
      if (spelling !== route && new URL(`${base}${spelling}`).pathname !== route) {
        const keyed = await send(spelling, true);
        if (keyed.status !== 404) leaks.push(`${method} ${spelling} with the key: ${keyed.status} ${JSON.stringify(keyed.body).slice(0, 80)}`);
      }
    }
  }
  return leaks;
}
