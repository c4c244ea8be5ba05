// An image decode process, started by decode-process.ts: it runs the jobs the gateway sends over
// its IPC channel, one at a time, and answers each. It holds nothing worth keeping, so the
// gateway kills it outright (SIGKILL) when a decode overruns its deadline. It ends when the
// channel closes: when the gateway closes it, and when the gateway dies, however it dies.

import sharp from 'sharp';
import type { JobMessage, WorkerMessage } from './decode-messages.js';
import { runDecodeJob } from './decode-job.js';

// One libvips thread: the gateway runs one process per decode slot, one slot per core, and more
// threads per decode only contend for the same cores (BENCHMARKS.md, "One libvips thread a decode
// process").
sharp.concurrency(1);

const send = (message: WorkerMessage) => process.send?.(message);

// Not process.exit(): it waits for libuv's threads, and one may be minutes into a decode.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
process.on('message', (message: JobMessage) => {
  runDecodeJob(message.job).then(
    (result) => send({ id: message.id, result }),
    (e: unknown) => send({ id: message.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
// sharp has loaded (a failure to load it ends the process before this, which the gateway reports).
send({ ready: true });
