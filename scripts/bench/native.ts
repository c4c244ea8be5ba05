// The native reference: onnxruntime-node's CPU execution provider on the same model file with the
// same thread count. The gap to the bare page is what running in a browser costs by itself.

import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/ops/paths.js';
import { median, timeRuns, type Figure } from './stats.js';

const MODEL = path.join(PROJECT_ROOT, 'models/mobilenet_v2/1.0/model.onnx');
const BATCHES = [1, 8] as const;

export async function benchNative(threads: number, log: (l: string) => void): Promise<Figure[]> {
  const session = await ort.InferenceSession.create(MODEL, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    // One graph, one run at a time: inter-op threads would only compete with intra-op ones.
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const figures: Figure[] = [];
  try {
    for (const batch of BATCHES) {
      const data = new Float32Array(batch * 3 * 224 * 224);
      for (let i = 0; i < data.length; i++) data[i] = Math.random() * 4 - 2;
      const input = new ort.Tensor('float32', data, [batch, 3, 224, 224]);
      const times = await timeRuns(
        async () => {
          await session.run({ input });
        },
        { warmup: 3, maxRuns: 40, minRuns: 5, budgetMs: 5000 },
      );
      const ms = median(times);
      figures.push(
        { key: `native.b${batch}.ms`, label: `onnxruntime-node CPU b=${batch}: run median`, unit: 'ms', value: ms },
        { key: `native.b${batch}.imagesPerS`, label: `onnxruntime-node CPU b=${batch}: images/s`, unit: 'img/s', value: (batch * 1000) / ms },
      );
      log(`native: batch ${batch} ${ms.toFixed(1)} ms/run, ${((batch * 1000) / ms).toFixed(1)} img/s`);
    }
  } finally {
    await session.release();
  }
  return figures;
}
