// Concurrent images that meet in batches however fast the machine: the model's page is held
// still while they are sent, and let go only once each one is accounted for (answered already,
// which while nothing can be served means refused; waiting in the model's queue; or sent to the
// page). The batches that form then do not depend on how fast the requests were decoded or run.
// For servers in this process: the page's calls are counted where the engine makes them.

import { mock } from 'node:test';
import type { BatchJob } from '../../server/pipeline/batch-scheduler.js';
import type { Deadline } from '../../server/ops/deadline.js';
import type { HandlerItem } from '../../server/page/inference-engine.js';
import { PageWorker } from '../../server/page/page-worker.js';
import { freezePage } from './frozen-page.js';
import { call } from './server-harness.js';
import { until } from './until.js';

export async function sendWhileHeld<T>(managementUrl: string, model: string, count: number, send: () => Promise<T>): Promise<T[]> {
  const { runBatch, runItems } = PageWorker.prototype;
  let sent = 0;
  const counting = mock.method(PageWorker.prototype, 'runBatch', function (this: PageWorker, jobs: BatchJob[], deadline: Deadline) {
    if (this.key.startsWith(`${model}/`)) sent += jobs.length;
    return runBatch.call(this, jobs, deadline);
  });
  // Handlers other than the image classifier send items.
  const countingItems = mock.method(PageWorker.prototype, 'runItems', function (this: PageWorker, items: HandlerItem[], deadline: Deadline) {
    if (this.key.startsWith(`${model}/`)) sent += items.length;
    return runItems.call(this, items, deadline);
  });
  const page = await freezePage(managementUrl, model);
  let answers: Array<Promise<T>> = [];
  try {
    let answered = 0;
    answers = Array.from({ length: count }, () => send().finally(() => answered++));
    const queued = async () => (await call(`${managementUrl}/models/${encodeURIComponent(model)}`)).body[0].jobQueueStatus.pendingRequests as number;
    await until('every request answered, queued or sent to the page', async () => {
      // Read around the queue's length: a request sent to the page meanwhile would count twice.
      const before = sent;
      const waiting = await queued();
      return before === sent && answered + waiting + sent === count;
    });
  } finally {
    page.thaw();
    counting.mock.restore();
    countingItems.mock.restore();
  }
  return Promise.all(answers);
}
