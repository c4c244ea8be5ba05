// The gateway's side of one image decode process (decode-worker.ts): one per decode slot, long
// lived, one job at a time. A decode in libjpeg cannot be interrupted (libvips' timeout is not
// looked at while libjpeg reads a progressive JPEG's scans, and a libuv thread cannot be
// stopped), but a process can be killed: a job given up is killed with its process, which is
// replaced at once, so its slot is free again without waiting for the decode to end.
//
// A process that ends by itself (a crash, the kernel's OOM killer) fails its job with a 500 and
// is replaced at once. One that ends before it is ready (sharp does not load) is retried after a
// pause that doubles up to 30 s; meanwhile its jobs fail at once with a 503 and `unavailable()`
// says why, for readiness.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DecodeJob, ImageHeader, JobMessage, WorkerMessage } from './decode-messages.js';
import type { DecodeRunner } from './decode-pool.js';
import { ApiError, serviceUnavailable } from '../errors.js';
import { log } from '../ops/log.js';

const WORKER = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
const MAX_RETRY_MS = 30_000;

interface Pending {
  id: number;
  job: DecodeJob;
  sent: boolean;
  resolve: (result: ImageHeader | Uint8Array) => void;
  reject: (e: Error) => void;
}

export class DecodeProcess implements DecodeRunner {
  private child: ChildProcess | null = null;
  private ready = false;
  private pending: Pending | null = null;
  private nextId = 1;
  private closed = false;
  private failedStarts = 0;
  private startFailure: string | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** Processes killed and not yet reaped. */
  private readonly exiting = new Set<Promise<void>>();

  /** `script` is the process's program: decode-worker.js, or another in tests. */
  constructor(private readonly script = WORKER) {}

  /** Starts the process now rather than at the first job. */
  start(): void {
    if (!this.child && !this.retry && !this.closed) this.spawn();
  }

  /** The current process's id; undefined while none runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Processes given up (killed) that have not ended yet. */
  get dying(): number {
    return this.exiting.size;
  }

  /** Resolves once every process given up so far has ended. */
  async reaped(): Promise<void> {
    await Promise.all(this.exiting);
  }

  /** Why this process cannot take jobs now, or null. */
  unavailable(): string | null {
    return this.startFailure && `the image decode process could not start (${this.startFailure})`;
  }

  run(job: DecodeJob): Promise<ImageHeader | Uint8Array> {
    if (this.pending) return Promise.reject(new Error('an image decode process was given a second job'));
    if (this.closed) return Promise.reject(serviceUnavailable('The server is shutting down.'));
    if (this.startFailure && !this.child) return Promise.reject(this.cannotStart());
    this.start();
    return new Promise((resolve, reject) => {
      this.pending = { id: this.nextId++, job, sent: false, resolve, reject };
      this.hold(true);
      if (this.ready) this.send();
    });
  }

  /** Fails the job in hand with `reason` at once; a process already decoding it is killed and replaced. */
  abandon(reason: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.sent) {
      log.warn(`image decode process ${this.child?.pid} killed: ${reason.message}`);
      this.replace();
    } else {
      this.hold(false);
    }
    p.reject(reason);
  }

  /** Kills the process; jobs after this fail with 503. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.pending?.reject(serviceUnavailable('The server is shutting down.'));
    this.pending = null;
    if (this.child) this.replace();
    await this.reaped();
  }

  private spawn(): void {
    this.retry = null;
    this.ready = false;
    // No flags of the gateway's (a test runner's, an inspector's): the process runs one file.
    const child = fork(this.script, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.hold(this.pending !== null);
    child.on('message', (message: WorkerMessage) => this.onMessage(child, message));
    child.on('exit', (code, signal) => this.onExit(child, signal ?? `exit code ${code}`));
    // A failed fork (no pid) never exits; any other error is followed by 'exit'.
    child.on('error', (e) => {
      if (child.pid === undefined) this.onExit(child, e.message);
    });
  }

  private send(): void {
    const p = this.pending!;
    p.sent = true;
    // A failed send means the process is gone: its 'exit' fails the job.
    this.child!.send({ id: p.id, job: p.job } satisfies JobMessage, () => undefined);
  }

  private onMessage(child: ChildProcess, message: WorkerMessage): void {
    if (child !== this.child) return;
    if ('ready' in message) {
      this.ready = true;
      this.failedStarts = 0;
      this.startFailure = null;
      if (this.pending && !this.pending.sent) this.send();
      return;
    }
    const p = this.pending;
    if (!p || message.id !== p.id) return;
    this.pending = null;
    this.hold(false);
    if ('error' in message) p.reject(new Error(message.error));
    else p.resolve(message.result);
  }

  private onExit(child: ChildProcess, how: string): void {
    if (child !== this.child) return; // replaced already: its job was failed then
    this.child = null;
    if (this.closed) return;
    const p = this.pending;
    this.pending = null;
    if (this.ready) {
      log.error(`image decode process ${child.pid} ended (${how})${p ? ' while decoding an image' : ''}; starting another`);
      p?.reject(new ApiError(500, 'InternalServerException', `The image decode process ended (${how}) while decoding the image; another has been started.`));
      this.spawn();
      return;
    }
    this.startFailure = how;
    this.failedStarts++;
    const wait = Math.min(MAX_RETRY_MS, 500 * 2 ** (this.failedStarts - 1));
    log.error(`image decode process could not start (${how}); trying again in ${wait / 1000} s`);
    p?.reject(this.cannotStart());
    this.retry = setTimeout(() => this.spawn(), wait);
    this.retry.unref();
  }

  /** An idle process never keeps the gateway alive; one with a job does until it answers. */
  private hold(on: boolean): void {
    const child = this.child;
    if (!child) return;
    if (on) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  private cannotStart(): ApiError {
    return new ApiError(503, 'ServiceUnavailableException', `Images cannot be decoded now: ${this.unavailable()}; the server log says why.`, { 'Retry-After': '1' });
  }

  /** Kills the current process (its end is awaited in `exiting`) and, unless closing, starts another. */
  private replace(): void {
    const child = this.child!;
    this.child = null;
    const ended = new Promise<void>((resolve) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    this.exiting.add(ended);
    void ended.then(() => this.exiting.delete(ended));
    child.ref(); // until it is reaped
    child.kill('SIGKILL');
    if (!this.closed) this.spawn();
  }
}
