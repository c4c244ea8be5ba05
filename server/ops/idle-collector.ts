// Memory given back after a burst. Request bodies, decoded pixels and tensors are Buffers: their
// memory is outside V8's heap and is freed only when a garbage collection finds them dead. Under
// load, collections come often; once a burst ends nothing allocates, so nothing collects, and a
// flood's memory stays with the process until the next traffic. So once many bytes have passed
// through and none are held, the server collects once.

import v8 from 'node:v8';
import vm from 'node:vm';
import { systemClock, type Clock } from './clock.js';

export class IdleCollector {
  private passed = 0;
  private timer: unknown = null;

  constructor(
    /** Bytes that must have passed through since the last collection to make one worth it. */
    private readonly thresholdBytes: number,
    /** How long no request bytes must be held before collecting. */
    private readonly idleMs: number,
    private readonly collect: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** `bytes` were given back; `stillHeld` are held by requests in progress. */
  given(bytes: number, stillHeld: number): void {
    this.passed += bytes;
    if (stillHeld > 0) {
      this.cancel();
      return;
    }
    if (this.passed < this.thresholdBytes || this.timer) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.passed = 0;
        this.collect();
      },
      this.idleMs,
      { unref: true },
    );
  }

  /** Traffic again: the collection waits for the next quiet moment. */
  cancel(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** A full collection, without starting Node with --expose-gc. */
export function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
