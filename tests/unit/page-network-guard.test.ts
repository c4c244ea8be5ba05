// The requests a runtime page may make: its channel, its own origin's files, nothing else.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchCommand, verdictFor } from '../../server/page/page-network-guard.js';
import { RUNTIME_CONTENT_SECURITY_POLICY } from '../../server/page/runtime-policy.js';

const origin = 'http://127.0.0.1:4000';

describe('verdictFor', () => {
  it("passes the channel to the channel, and the runtime origin's files on", () => {
    assert.equal(verdictFor(`${origin}/__input/next`, origin, 'Fetch'), 'channel');
    assert.equal(verdictFor(`${origin}/secret/ort/ort.wasm.min.mjs`, origin, 'Script'), 'continue');
  });

  it('refuses every other origin, another port of the same host and a look-alike host included', () => {
    for (const url of ['http://127.0.0.1:40001/', 'http://127.0.0.1:4000.example.com/', 'https://127.0.0.1:4000/', 'http://localhost:4000/', 'ws://127.0.0.1:4000/', 'file:///etc/passwd']) {
      assert.equal(verdictFor(url, origin, 'Fetch'), 'block', url);
    }
  });

  it('cancels a navigation elsewhere, so that the page stays, and fails anything else as blocked', () => {
    assert.equal(verdictFor('http://127.0.0.1:1/', origin, 'Document'), 'abort');
    assert.deepEqual(fetchCommand('abort', '7'), { method: 'Fetch.failRequest', params: { requestId: '7', errorReason: 'Aborted' } });
    assert.deepEqual(fetchCommand('block', '7'), { method: 'Fetch.failRequest', params: { requestId: '7', errorReason: 'BlockedByClient' } });
    assert.deepEqual(fetchCommand('continue', '7'), { method: 'Fetch.continueRequest', params: { requestId: '7' } });
  });
});

describe('the runtime pages’ Content-Security-Policy', () => {
  const directives = new Map(RUNTIME_CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));

  it('allows nothing by default, scripts and connections from its own origin only, and WASM without eval of text', () => {
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.doesNotMatch(RUNTIME_CONTENT_SECURITY_POLICY, /'unsafe-eval'|'unsafe-inline'|\*|https?:/);
  });
});
