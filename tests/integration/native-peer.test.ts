// The bench's native peer (scripts/bench/native-peer-server.ts) as the bench starts it: its own
// process, the real sharp and onnxruntime-node, the committed models. Its figures stand beside
// the server's only if it answers what the server answers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { normalise } from '../../browser-runtime/normalise.js';
import { preprocess, UNGATED } from '../../server/image/preprocess.js';
import { parseModelConfig } from '../../server/store/model-config.js';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { nullModelReference, top1 } from '../../scripts/null-model/model.js';
import { MODELS, NULL_MODELS, LABELS, readImage } from '../support/paths.js';
import { call, postImage } from '../support/server-harness.js';

const PEER = path.join(PROJECT_ROOT, 'dist/scripts/bench/native-peer-server.js');

describe('the native peer', () => {
  let child: ChildProcess;
  let url = '';

  before(async () => {
    child = spawn(process.execPath, [PEER, '--port', '0', '--threads', '1', path.join(NULL_MODELS, 'null_model'), path.join(MODELS, 'mobilenet_v2')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    for await (const chunk of child.stdout!) {
      out += String(chunk);
      const address = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (address) {
        url = address;
        break;
      }
    }
    assert.ok(url, `the peer never said where it listens: ${out}`);
  });

  after(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
  });

  const post = (model: string, body: Uint8Array) => postImage(`${url}/predictions/${model}`, body, 'POST', 'image/jpeg');

  it('answers /ping', async () => {
    const res = await call(`${url}/ping`);
    assert.deepEqual([res.status, res.body], [200, { status: 'Healthy' }]);
  });

  it("classifies with MobileNetV2 in the server's format: the top 5, labelled, highest first", async () => {
    const res = await post('mobilenet_v2', readImage('dog_malamute.jpg'));
    assert.equal(res.status, 200);
    const answer = res.body as { class: string; probability: number }[];
    assert.equal(answer.length, 5);
    assert.equal(answer[0]?.class, 'n02110063 malamute, malemute, Alaskan malamute');
    assert.ok(answer.every((a, i) => LABELS.includes(a.class) && a.probability > 0 && (i === 0 || a.probability <= answer[i - 1]!.probability)));
  });

  it("gives the null model's top class for the server's pixels", async () => {
    const image = readImage('kitten.jpg');
    const config = parseModelConfig(JSON.parse(readFileSync(path.join(NULL_MODELS, 'null_model', 'config.json'), 'utf8')));
    const pixels = await preprocess(image, { resize: config.resize, crop: config.normalisation.size, maxPixels: 40_000_000, maxJpegScans: 100 }, UNGATED);
    const expected = top1(nullModelReference(normalise(pixels, 1, config.normalisation), 1), 1)[0]!;
    const res = await post('null_model', image);
    const answer = res.body as { class: string }[];
    assert.equal(answer[0]?.class, LABELS[expected]);
  });

  it("refuses what is not an image, and an unknown model, in TorchServe's error format", async () => {
    const bad = await post('null_model', new TextEncoder().encode('not an image'));
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { type: string }).type, 'BadRequestException');
    const missing = await post('no_such_model', readImage('kitten.jpg'));
    assert.deepEqual([missing.status, missing.body], [404, { code: 404, type: 'ModelNotFoundException', message: 'Model not found: no_such_model' }]);
  });
});
