// TorchServe's object_detector through the real browser on WASM: YOLOX-Nano as the repo ships it
// finds the objects onnxruntime-node finds (tests/fixtures/images/detections.json), in TorchServe's
// answer shape, through /predictions, KServe v1 and TorchServe's gRPC, alone and batched.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../server/server.js';
import { callUnary, grpcClients } from '../../support/grpc-client.js';
import { sendWhileHeld } from '../../support/held-requests.js';
import { assertSameDetections, DETECTIONS, type Detection, readImage } from '../../support/paths.js';
import { call, postImage } from '../../support/server-harness.js';
import type { ServerSource } from '../../support/shared-server.js';

/** Pixels a box may be from the native reference: float differences move an edge a little. */
const PIXELS = 2;

export const objectDetectorSuite = (shared: ServerSource) =>
  describe('object_detector (YOLOX-Nano on WASM)', () => {
    let server: RunningServer;
    before(async () => {
      server = await shared();
    });

    it("finds each photo's objects as onnxruntime-node does, in TorchServe's shape and the photo's pixels", async () => {
      for (const [photo, want] of Object.entries(DETECTIONS)) {
        const res = await postImage(`${server.inferenceUrl}/predictions/yolox_nano`, readImage(photo));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assertSameDetections(res.body as Detection[], want, PIXELS, photo);
      }
      // The reference itself, so that a wrong decoding cannot pass by agreeing with itself.
      const labels = (photo: string) => DETECTIONS[photo]!.map((d) => Object.keys(d).find((k) => k !== 'score'));
      assert.deepEqual(labels('dog_malamute.jpg'), ['dog', 'car', 'bicycle']);
      assert.deepEqual(labels('kitten.jpg'), ['cat']);
      assert.deepEqual(labels('bald_eagle.jpg'), ['bird']);
    });

    it('answers the same in a batch as alone, each image its own boxes', async () => {
      const photos = ['dog_malamute.jpg', 'kitten.jpg', 'bald_eagle.jpg', 'espresso_coffee.png'];
      let at = 0;
      const answers = await sendWhileHeld(server.managementUrl, 'yolox_nano', photos.length, () => {
        const photo = photos[at++]!;
        return postImage(`${server.inferenceUrl}/predictions/yolox_nano`, readImage(photo)).then((res) => ({ photo, res }));
      });
      assert.ok(
        answers.some(({ res }) => Number(res.headers.get('x-batch-size')) > 1),
        'some ran together',
      );
      for (const { photo, res } of answers) assertSameDetections(res.body as Detection[], DETECTIONS[photo]!, PIXELS, `${photo} in a batch`);
    });

    it('answers KServe v1 instances and TorchServe gRPC Predictions the same way', async () => {
      const dog = readImage('dog_malamute.jpg');
      const v1 = await call(`${server.inferenceUrl}/v1/models/yolox_nano:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [{ data: dog.toString('base64') }, { data: { b64: readImage('kitten.jpg').toString('base64') } }] }),
      });
      assert.equal(v1.status, 200, JSON.stringify(v1.body));
      assertSameDetections(v1.body.predictions[0], DETECTIONS['dog_malamute.jpg']!, PIXELS, 'KServe v1 dog');
      assertSameDetections(v1.body.predictions[1], DETECTIONS['kitten.jpg']!, PIXELS, 'KServe v1 kitten');
      const grpc = grpcClients(server.grpc!);
      try {
        const reply = await callUnary<{ prediction: Buffer }>(grpc.torchserve, 'Predictions', { model_name: 'yolox_nano', input: { data: dog } });
        assertSameDetections(JSON.parse(reply.prediction.toString('utf8')), DETECTIONS['dog_malamute.jpg']!, PIXELS, 'gRPC dog');
      } finally {
        grpc.close();
      }
    });

    it('is described as an object detector, with its letterbox and thresholds, and refuses what is not an image', async () => {
      const [d] = (await call(`${server.managementUrl}/models/yolox_nano`)).body;
      assert.equal(d.handler, 'object_detector');
      assert.deepEqual(d.input.preprocessing.fit, 'letterbox');
      assert.equal(d.output.detector.scoreThreshold, 0.5);
      assert.equal(d.output.classes, 80);
      const bad = await postImage(`${server.inferenceUrl}/predictions/yolox_nano`, Buffer.from('no image here'));
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, 400);
      assert.match(bad.body.message, /not a supported image/);
    });
  });
